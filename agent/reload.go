package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/auditship/auditship/agent/config"
	"github.com/auditship/auditship/agent/deadletter"
	"github.com/auditship/auditship/agent/registry"
	"github.com/auditship/auditship/agent/tailer"
	"github.com/auditship/auditship/outputs"
	"github.com/auditship/auditship/query"
)

type reloadRequest struct {
	cfg  *config.Config
	done chan error
}

// Reload applies cfg to the running agent and returns when it is applied.
// Inputs whose block is unchanged keep running (same registry, same
// offsets); added inputs start; removed inputs stop; when an output, the
// pipeline, schemas or query block, shutdown_timeout or
// registry_flush_interval changed, the delivery side is restarted
// gracefully: batches in flight are delivered (within shutdown_timeout;
// what is left is handed to the new outputs), the outputs are closed and
// the new ones opened. No line is lost: offsets only move past delivered
// lines, and event ids make a second delivery idempotent.
//
// Settings that cannot change while running (data_dir, dead_letter,
// registry_ttl, http, pipeline.max_inflight_events) make Reload return an
// error and leave the running config as it is; so does a failure to open
// the new outputs, in which case the old ones are reopened. Reload returns
// [ErrNotRunning] when Run has returned, and blocks until Run starts.
func (a *Agent) Reload(cfg *config.Config) error {
	if cfg == nil {
		return errors.New("reload: nil config")
	}
	if a.opts.Once {
		return errors.New("reload: not supported with Once")
	}
	req := reloadRequest{cfg: cfg, done: make(chan error, 1)}
	select {
	case a.reloads <- req:
	case <-a.stopped:
		return ErrNotRunning
	}
	return <-req.done
}

// checkReloadable returns an error naming the first setting that differs
// between old and cfg and that only a restart can change.
func checkReloadable(old, cfg *config.Config) error {
	type setting struct {
		name     string
		old, new any
	}
	for _, st := range []setting{
		{"data_dir", old.DataDir, cfg.DataDir},
		{"dead_letter", old.DeadLetter, cfg.DeadLetter},
		{"registry_ttl", old.RegistryTTL, cfg.RegistryTTL},
		{"http", old.HTTP, cfg.HTTP},
		{"pipeline.max_inflight_events", old.Pipeline.MaxInflightEvents, cfg.Pipeline.MaxInflightEvents},
		{"pipeline.max_inflight_bytes", old.Pipeline.MaxInflightBytes, cfg.Pipeline.MaxInflightBytes},
	} {
		if st.old != st.new {
			return fmt.Errorf("reload: %s changed (%v → %v); restart the agent to apply it", st.name, st.old, st.new)
		}
	}
	return nil
}

// filesReader is an output or query config that reads files when its
// output or server starts (credentials, certificates).
type filesReader interface{ FilesRead() []string }

// OutputFiles returns the files the output of o reads when it opens
// (credentials, certificates), or nil when it reads none.
func OutputFiles(o config.Output) []string {
	if fr, ok := o.Config.(filesReader); ok {
		return fr.FilesRead()
	}
	return nil
}

// deliveryFiles digests the files the delivery side of cfg reads when it
// starts: every output's and the query API's (see filesReader). A file that
// cannot be read digests as its error. A reload compares the digest taken
// when the running delivery side started with a new one, so that a rotated
// password file or certificate is picked up by a reload without a change
// to the config.
func deliveryFiles(cfg *config.Config) string {
	var paths []string
	for _, o := range cfg.Outputs {
		paths = append(paths, OutputFiles(o)...)
	}
	if cfg.Query != nil {
		paths = append(paths, cfg.Query.FilesRead()...)
	}
	return filesDigest(paths)
}

// outputFiles digests, per output of cfg that reads files when it opens,
// those files (see deliveryFiles).
func outputFiles(cfg *config.Config) map[string]string {
	m := map[string]string{}
	for _, o := range cfg.Outputs {
		if files := OutputFiles(o); files != nil {
			m[o.Name] = filesDigest(files)
		}
	}
	return m
}

// filesDigest is a SHA-256 over the names and contents of paths, in order; a
// file that cannot be read counts by its error.
func filesDigest(paths []string) string {
	h := sha256.New()
	for _, p := range paths {
		fmt.Fprintf(h, "%q\n", p)
		b, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(h, "error %v\n", err)
			continue
		}
		fmt.Fprintf(h, "%d\n", len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// verifier is an output that tells whether its Open could check the
// server's answer to its credentials: false when the server did not answer
// (see elasticsearch.Output.Verified).
type verifier interface{ Verified() bool }

// preflight opens and closes every output of cfg that reads files when it
// opens (credentials, certificates: see filesReader), before a reload stops
// the running outputs: a password the cluster refuses, or a certificate
// that does not load, then fails the reload while the running outputs go
// on. (The old config's outputs read the same files when they are opened
// again, so a failure after the stop could not be undone.) Outputs that
// read no files, such as the embedded store, are not opened twice. The
// query API's TLS pair, when set, is loaded too. An output whose block or
// files differ from the running one's (running: the generation that runs)
// must also reach its server: while it does not answer, new credentials
// cannot be checked, and the reload fails rather than risk replacing
// working ones.
func preflight(ctx context.Context, cfg *config.Config, running *generation, log *slog.Logger) error {
	oldSource := map[string]string{}
	for _, oc := range running.cfg.Outputs {
		oldSource[oc.Name] = oc.Source
	}
	if cfg.Query != nil {
		if _, err := cfg.Query.LoadTLS(); err != nil {
			return fmt.Errorf("query API: %w", err)
		}
	}
	for _, oc := range cfg.Outputs {
		files := OutputFiles(oc)
		if len(files) == 0 {
			continue
		}
		o, err := NewOutput(oc, cfg.DataDir, log)
		if err != nil {
			return err
		}
		if op, ok := o.(outputs.Opener); ok {
			if err := op.Open(ctx); err != nil {
				_ = o.Close(ctx)
				return fmt.Errorf("open output %q: %w", oc.Name, err)
			}
		}
		changed := oldSource[oc.Name] != oc.Source || running.outFiles[oc.Name] != filesDigest(files)
		if v, ok := o.(verifier); ok && changed && !v.Verified() {
			_ = o.Close(ctx)
			return fmt.Errorf("output %q: its server does not answer, so its new credentials cannot be checked; the running outputs go on: reload again once it answers", oc.Name)
		}
		if err := o.Close(ctx); err != nil {
			return fmt.Errorf("close output %q: %w", oc.Name, err)
		}
	}
	return nil
}

// deliveryChanged reports whether the delivery side must restart to apply
// cfg.
func deliveryChanged(old, cfg *config.Config) bool {
	if old.DeliverySource != cfg.DeliverySource || old.ShutdownTimeout != cfg.ShutdownTimeout ||
		old.RegistryFlushInterval != cfg.RegistryFlushInterval || len(old.Outputs) != len(cfg.Outputs) {
		return true
	}
	for i := range old.Outputs {
		o, n := old.Outputs[i], cfg.Outputs[i]
		if o.Name != n.Name || o.Type != n.Type || o.Source != n.Source {
			return true
		}
	}
	return false
}

// supervisor owns what lives as long as Run: the line queue, the tailers,
// the registry and the dead-letter file; the delivery side is a generation
// it replaces on reload.
type supervisor struct {
	a    *Agent
	reg  *registry.Registry
	dl   *deadletter.Writer
	fail func(error)

	lines      chan []tailer.Line // chunks; see config.Queue
	chunkLines int                // tailer.Config.ChunkLines of every tailer
	closeOnce  sync.Once

	tailCtx   context.Context
	stopTails context.CancelFunc
	tails     sync.WaitGroup
	inputs    map[string]*runningInput

	saveMu  sync.Mutex
	regFile os.FileInfo // the registry file as last seen, to count writes
}

type runningInput struct {
	cancel context.CancelFunc
	done   chan struct{}
}

func (s *supervisor) closeLines() { s.closeOnce.Do(func() { close(s.lines) }) }

// startInput starts the tailer of in.
func (s *supervisor) startInput(in config.Input) error {
	t, err := s.newTailer(in)
	if err != nil {
		return err
	}
	s.runInput(in.Name, t)
	return nil
}

// newTailer builds the tailer of in without starting it: it checks in's
// tailer settings and does no I/O.
func (s *supervisor) newTailer(in config.Input) (*tailer.Tailer, error) {
	tc := in.Tailer
	tc.Once = s.a.opts.Once
	tc.ChunkLines = s.chunkLines
	name := in.Name
	tc.ClaimedBy = func(path string) string { return s.a.claimant(name, path) }
	tc.Owners = &s.a.owners
	t, err := tailer.New(in.Name, tc, s.reg, s.a.log)
	if err != nil {
		return nil, fmt.Errorf("input %q: %w", in.Name, err)
	}
	return t, nil
}

// runInput runs t, the tailer of the input named name, until stopInput.
func (s *supervisor) runInput(name string, t *tailer.Tailer) {
	if s.inputs == nil {
		s.inputs = map[string]*runningInput{}
	}
	ctx, cancel := context.WithCancel(s.tailCtx)
	r := &runningInput{cancel: cancel, done: make(chan struct{})}
	s.inputs[name] = r
	s.a.running.Store(name, t)
	s.tails.Go(func() {
		defer close(r.done)
		if err := t.Run(ctx, s.lines); err != nil {
			s.fail(fmt.Errorf("input %q: %w", name, err))
		}
	})
}

// stopInput stops the tailer of the named input and waits for it. Lines it
// already queued stay queued and are delivered.
func (s *supervisor) stopInput(name string) {
	r, ok := s.inputs[name]
	if !ok {
		return
	}
	r.cancel()
	<-r.done
	delete(s.inputs, name)
	s.a.running.Delete(name)
}

// saveRegistry writes the registry and counts the write when the file was
// replaced (Save skips writing an unchanged registry; every write renames a
// new file into place, so a new file identity means a write).
func (s *supervisor) saveRegistry() error {
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	if err := s.reg.Save(); err != nil {
		return err
	}
	fi, err := os.Stat(s.reg.Path())
	if err != nil {
		return nil
	}
	if s.regFile == nil || !os.SameFile(s.regFile, fi) {
		s.a.m.registryWrite.Inc()
	}
	s.regFile = fi
	return nil
}

// reload applies cfg (see [Agent.Reload]) and returns the generation that
// runs afterwards; nil means nothing runs any more and Run must stop.
func (s *supervisor) reload(ctx context.Context, g *generation, cfg *config.Config) (*generation, error) {
	a := s.a
	old := a.currentConfig()
	if err := checkReloadable(old, cfg); err != nil {
		return g, err
	}
	oldIn := map[string]config.Input{}
	for _, in := range old.Inputs {
		oldIn[in.Name] = in
	}
	// The tailers of new and changed inputs are built first: an input that
	// cannot start fails the reload before anything running is stopped.
	var (
		starts []config.Input
		built  = map[string]*tailer.Tailer{}
		errs   []error
	)
	for _, in := range cfg.Inputs {
		if o, ok := oldIn[in.Name]; ok && o.Source == in.Source {
			continue
		}
		t, err := s.newTailer(in)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		starts, built[in.Name] = append(starts, in), t
	}
	if err := errors.Join(errs...); err != nil {
		return g, err
	}
	if changed, files := deliveryChanged(old, cfg), deliveryFiles(cfg) != g.files; changed || files {
		if err := preflight(ctx, cfg, g, a.log); err != nil {
			return g, fmt.Errorf("reload: %w", err)
		}
		a.log.Info("reload: restarting the delivery side", "outputs", len(cfg.Outputs), "files_changed", files && !changed)
		leftover, err := g.stop(true)
		if err != nil {
			a.log.Error("reload: closing the old outputs", "error", err)
		}
		ng, err := s.startGeneration(ctx, cfg, leftover)
		if err != nil {
			a.log.Error("reload: new outputs cannot start; reopening the old ones", "error", err)
			back, berr := s.startGeneration(ctx, old, leftover)
			if berr != nil {
				s.fail(fmt.Errorf("reopen outputs after a failed reload: %w", berr))
				return nil, errors.Join(err, berr)
			}
			return back, fmt.Errorf("reload: %w", err)
		}
		g = ng
	}

	newIn := map[string]config.Input{}
	for _, in := range cfg.Inputs {
		newIn[in.Name] = in
	}
	for _, in := range old.Inputs {
		if n, ok := newIn[in.Name]; !ok || n.Source != in.Source {
			s.stopInput(in.Name)
			a.log.Info("reload: input stopped", "input", in.Name)
		}
	}
	a.setInputs(cfg.Inputs)
	for _, in := range starts {
		s.runInput(in.Name, built[in.Name])
		a.log.Info("reload: input started", "input", in.Name)
	}
	a.cfg.Store(cfg)
	return g, nil
}

// generation is one run of the delivery side: the outputs, the query API
// on top of them, and the pipeline that reads the shared line queue.
type generation struct {
	s        *supervisor
	cfg      *config.Config
	outs     []outputs.Output
	files    string            // deliveryFiles(cfg) when the outputs were opened
	outFiles map[string]string // outputFiles(cfg) then

	stopProc      chan struct{} // closed: process flushes and returns, leaving the queue
	cancelDeliver context.CancelFunc
	cancelSide    context.CancelFunc
	side          sync.WaitGroup // process, saveLoop, query API
	done          chan struct{}  // closed when deliver returned
	leftover      []*batch       // undelivered batches; valid after done
}

// startGeneration opens cfg's outputs and starts the query API and the
// pipeline; leftover batches are delivered first.
func (s *supervisor) startGeneration(ctx context.Context, cfg *config.Config, leftover []*batch) (*generation, error) {
	a := s.a
	files, outFiles := deliveryFiles(cfg), outputFiles(cfg)
	outs, searchers, err := openOutputs(ctx, cfg, a.log)
	if err != nil {
		return nil, err
	}
	g := &generation{s: s, cfg: cfg, outs: outs, files: files, outFiles: outFiles, stopProc: make(chan struct{}), done: make(chan struct{})}
	sideCtx, cancelSide := context.WithCancel(context.WithoutCancel(ctx))
	g.cancelSide = cancelSide
	if cfg.Query != nil && !a.opts.Once {
		srv, err := a.newQueryServer(cfg, searchers)
		if err != nil {
			cancelSide()
			_ = closeOutputs(ctx, cfg, outs)
			return nil, err
		}
		g.side.Go(func() {
			if err := srv.Run(sideCtx); err != nil {
				s.fail(fmt.Errorf("query API: %w", err))
			}
		})
		if a.opts.Ready != nil {
			g.side.Go(func() {
				select {
				case <-srv.Ready():
					a.opts.Ready(srv.Addr())
				case <-sideCtx.Done():
				}
			})
		}
	}
	p := &pipeline{
		cfg: cfg, log: a.log.With("component", "pipeline"), a: a,
		reg: s.reg, dl: s.dl, outs: outs,
	}
	batches := make(chan *batch, 1)
	deliverCtx, cancelDeliver := context.WithCancel(context.WithoutCancel(ctx))
	g.cancelDeliver = cancelDeliver
	g.side.Go(func() { p.process(g.stopProc, s.lines, batches) })
	g.side.Go(func() { s.saveLoop(sideCtx, cfg) })
	go func() {
		defer close(g.done)
		g.leftover = p.deliver(deliverCtx, leftover, batches)
	}()
	if old := a.schemas.Swap(cfg.Schemas); old != nil && old != cfg.Schemas {
		a.m.redactedBase.Add(old.Redacted())
	}
	a.health.setUp(true)
	return g, nil
}

// stop ends the generation. With reload, the pipeline stops taking lines
// (they stay queued for the next generation); otherwise the caller has
// closed the queue and the pipeline takes what is left. Batches are
// delivered within shutdown_timeout; stop returns those that were not, and
// the outputs' close errors.
func (g *generation) stop(reload bool) ([]*batch, error) {
	a := g.s.a
	if reload {
		close(g.stopProc)
	}
	t := time.NewTimer(g.cfg.ShutdownTimeout)
	select {
	case <-g.done:
	case <-t.C:
		a.log.Warn("shutdown timeout reached, undelivered events will be delivered later or read again at next start", "duration", g.cfg.ShutdownTimeout)
		g.cancelDeliver()
		<-g.done
	}
	t.Stop()
	g.cancelDeliver()
	g.cancelSide()
	g.side.Wait()
	a.health.setUp(false)
	err := closeOutputs(context.Background(), g.cfg, g.outs)
	if !reload {
		for _, b := range g.leftover {
			a.m.untrack(b)
		}
		return nil, err
	}
	return g.leftover, err
}

// openOutputs builds and opens every output of cfg; searchers maps output
// names to those that can serve queries.
func openOutputs(ctx context.Context, cfg *config.Config, log *slog.Logger) ([]outputs.Output, map[string]outputs.Searcher, error) {
	var outs []outputs.Output
	searchers := map[string]outputs.Searcher{}
	for _, oc := range cfg.Outputs {
		o, err := NewOutput(oc, cfg.DataDir, log)
		if err != nil {
			_ = closeOutputs(ctx, cfg, outs)
			return nil, nil, err
		}
		if op, ok := o.(outputs.Opener); ok {
			if err := op.Open(ctx); err != nil {
				_ = closeOutputs(ctx, cfg, outs)
				return nil, nil, fmt.Errorf("open output %q: %w", oc.Name, err)
			}
		}
		outs = append(outs, o)
		if s, ok := o.(outputs.Searcher); ok {
			searchers[oc.Name] = s
		}
		log.Info("output opened", "output", oc.Name, "type", oc.Type)
	}
	return outs, searchers, nil
}

// closeOutputs closes outs (the first len(outs) outputs of cfg) within
// shutdown_timeout.
func closeOutputs(ctx context.Context, cfg *config.Config, outs []outputs.Output) error {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	for i, o := range outs {
		if err := o.Close(cctx); err != nil {
			errs = append(errs, fmt.Errorf("close output %q: %w", cfg.Outputs[i].Name, err))
		}
	}
	return errors.Join(errs...)
}

func (a *Agent) newQueryServer(cfg *config.Config, searchers map[string]outputs.Searcher) (*query.Server, error) {
	s, ok := searchers[cfg.QueryFrom]
	if !ok {
		return nil, fmt.Errorf("query API: output %q cannot serve queries", cfg.QueryFrom)
	}
	key, err := SuperadminKey(cfg.DataDir, a.opts.SuperadminKey, a.opts.KeyNotice)
	if err != nil {
		return nil, err
	}
	return query.New(*cfg.Query, s, query.Options{
		SuperadminKey: key,
		OnRead:        a.record,
		OnRefused:     func(status int) { a.m.queryRefused.WithLabelValues(strconv.Itoa(status)).Inc() },
		Log:           a.log,
	})
}
