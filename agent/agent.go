package agent

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/auditship/auditship/agent/config"
	"github.com/auditship/auditship/agent/deadletter"
	"github.com/auditship/auditship/agent/registry"
	"github.com/auditship/auditship/agent/tailer"
	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/parsers/schema"
	"github.com/auditship/auditship/query"
)

// ErrNotRunning is returned by [Agent.Reload] when Run is not running.
var ErrNotRunning = errors.New("agent is not running")

// Options are the run-time choices that are not part of agent.hcl.
type Options struct {
	// Once reads every matched file to its current end, delivers, saves the
	// offsets and returns, like a backfill. No query API and no http
	// listener are served.
	Once bool
	// SuperadminKey is the key that may read /audit-logs; "" means: use the
	// key stored in data_dir/superadmin.key, creating it on first start.
	SuperadminKey string
	// KeyNotice receives the generated super-admin key once, the first time
	// it is created; nil prints its path, not the key, to standard error.
	KeyNotice func(key, path string)
	// Ready, when set, is called with its address each time the query API
	// starts listening (again after a reload that restarts it).
	Ready func(queryAddr string)
	// HTTPReady, when set, is called once the http listener (/metrics,
	// /healthz, /readyz) listens, with its address.
	HTTPReady func(httpAddr string)
}

// Stats are the agent's running totals. Fields are updated atomically.
type Stats struct {
	LinesRead    atomic.Int64 // lines received from the tailers
	BytesRead    atomic.Int64 // bytes of those lines, newlines included
	Skipped      atomic.Int64 // lines that are not audit events
	Shipped      atomic.Int64 // events accepted by every output
	DeadLettered atomic.Int64 // lines and events written to the dead-letter file
	Retries      atomic.Int64 // output writes that failed and were tried again
}

// Agent is one running auditship agent.
type Agent struct {
	log   *slog.Logger
	opts  Options
	stats Stats
	m     *metrics

	internal chan internalEvent // events the agent makes itself (reads of /audit-logs)
	owners   tailer.Owners      // which input's tailer reads each file
	reloads  chan reloadRequest
	stopped  chan struct{} // closed when Run no longer serves reloads

	cfg atomic.Pointer[config.Config]
	reg atomic.Pointer[registry.Registry]
	// dlDropped is the dead-letter writer's Dropped() last reported.
	dlDropped atomic.Int64
	inputs    atomic.Pointer[map[string]*config.Input] // every input ever run, latest config by name
	health    *health
	schemas   atomic.Pointer[schema.Catalog] // of the running generation, for auditship_secrets_redacted_total
	running   sync.Map                       // input name → *tailer.Tailer, for open_files
}

// New checks the options; it does no I/O and starts nothing.
func New(cfg *config.Config, log *slog.Logger, opts Options) (*Agent, error) {
	if cfg == nil {
		return nil, errors.New("agent: nil config")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Agent{
		log: log, opts: opts,
		internal: make(chan internalEvent, 1024),
		reloads:  make(chan reloadRequest),
		stopped:  make(chan struct{}),
		health:   newHealth(),
	}
	a.cfg.Store(cfg)
	a.schemas.Store(cfg.Schemas)
	a.setInputs(cfg.Inputs)
	a.m = newMetrics(a)
	return a, nil
}

// Stats returns the agent's running totals.
func (a *Agent) Stats() *Stats { return &a.stats }

// Metrics returns the registry of the agent's Prometheus metrics, the one
// /metrics serves.
func (a *Agent) Metrics() *prometheus.Registry { return a.m.reg }

// LagBytes returns the bytes of the matched files not yet acknowledged, the
// sum over every input of auditship_input_lag_bytes; 0 before Run opened the
// registry.
func (a *Agent) LagBytes() int64 {
	reg := a.registry()
	if reg == nil {
		return 0
	}
	var n int64
	for _, in := range a.currentConfig().Inputs {
		n += inputLag(in, reg)
	}
	return n
}

func (a *Agent) currentConfig() *config.Config { return a.cfg.Load() }

func (a *Agent) registry() *registry.Registry { return a.reg.Load() }

// claimant returns the input that reads the file at path when that is not
// the input named name: the first input of the current config, in the
// config's order, whose globs match path and whose exclude patterns keep
// it (see tailer.Config.ClaimedBy). It returns "" when that input is name,
// or when no input before it matches. Safe for concurrent use.
func (a *Agent) claimant(name, path string) string {
	inputs := a.currentConfig().Inputs
	for i := range inputs {
		if inputs[i].Name == name {
			return ""
		}
		if inputs[i].Tailer.Matches(path) {
			return inputs[i].Name
		}
	}
	return ""
}

func (a *Agent) openFiles(input string) int {
	if t, ok := a.running.Load(input); ok {
		return t.(*tailer.Tailer).OpenFiles()
	}
	return 0
}

// setInputs adds ins to the inputs lines are decoded with. Inputs are never
// removed, so that lines a removed input read before it stopped are still
// decoded by its config.
func (a *Agent) setInputs(ins []config.Input) {
	m := map[string]*config.Input{}
	if old := a.inputs.Load(); old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	for i := range ins {
		in := ins[i]
		m[in.Name] = &in
	}
	a.inputs.Store(&m)
}

func (a *Agent) inputFor(name string) *config.Input { return (*a.inputs.Load())[name] }

// Run starts the registry, the outputs, the query API, the http listener and
// the tailers, and blocks until ctx ends (or, with Options.Once, until every
// file is read and delivered). It returns nil on a normal stop and an error
// when a component cannot start or fails. While Run runs, [Agent.Reload]
// applies a new config. Run may be called once.
func (a *Agent) Run(ctx context.Context) (err error) {
	defer close(a.stopped)
	cfg := a.currentConfig()
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("create data_dir: %w", err)
	}
	unlock, err := LockDataDir(cfg.DataDir)
	if err != nil {
		return err
	}
	defer unlock()
	reg, err := registry.Open(filepath.Join(cfg.DataDir, "registry.json"), cfg.RegistryTTL)
	if err != nil {
		return err
	}
	a.reg.Store(reg)
	dl, err := deadletter.Open(cfg.DeadLetter.Path, cfg.DeadLetter.MaxBytes, cfg.DeadLetter.MaxFiles)
	if err != nil {
		return err
	}
	if n := dl.Repaired(); n > 0 {
		// Its lines were not acknowledged: they are read and recorded again.
		a.log.Warn("dead-letter file ended in a torn record (a crash or a full disk while writing it); cut it off", "path", cfg.DeadLetter.Path, "bytes", n)
	}
	defer func() { err = errors.Join(err, dl.Close()) }()

	var faultMu sync.Mutex
	var fault error
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	fail := func(e error) {
		faultMu.Lock()
		if fault == nil {
			fault = e
		}
		faultMu.Unlock()
		stop()
	}
	firstFault := func() error {
		faultMu.Lock()
		defer faultMu.Unlock()
		return fault
	}

	var side sync.WaitGroup // the http listener
	defer func() { stop(); side.Wait() }()
	if !a.opts.Once && cfg.HTTP.Listen != "" {
		hs, err := a.listenHTTP(cfg.HTTP)
		switch {
		case err != nil && cfg.HTTP.ListenSet:
			return err
		case err != nil:
			a.log.Error("http listener not started: metrics and health checks are unavailable; set http { listen = ... } to choose another address or \"\" to disable it", "error", err)
		default:
			side.Go(func() {
				if err := hs.run(runCtx); err != nil {
					fail(fmt.Errorf("http listener: %w", err))
				}
			})
		}
	}

	chunks, chunkLines := cfg.Queue()
	s := &supervisor{
		a: a, reg: reg, dl: dl, fail: fail,
		lines: make(chan []tailer.Line, chunks), chunkLines: chunkLines,
	}
	s.tailCtx, s.stopTails = context.WithCancel(runCtx)
	defer s.stopTails()
	// Start order: outputs and query API, then the tailers.
	g, err := s.startGeneration(ctx, cfg, nil)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while the outputs were opening: a normal stop
		}
		return err
	}
	for _, in := range cfg.Inputs {
		if err := s.startInput(in); err != nil {
			s.stopTails()
			s.tails.Wait()
			s.closeLines()
			_, gerr := g.stop(false)
			return errors.Join(err, gerr)
		}
	}
	if a.opts.Once {
		go func() { s.tails.Wait(); s.closeLines() }()
	}
loop:
	for {
		select {
		case req := <-a.reloads:
			g, err = s.reload(ctx, g, req.cfg)
			req.done <- err
			if g == nil {
				break loop
			}
		case <-g.done:
			break loop // lines closed (Once) or deliver ended
		case <-runCtx.Done():
			break loop
		}
	}
	// Stop order: tailers stop reading, the queue drains, the outputs flush
	// within shutdown_timeout, the registry is saved. Tailers return on ctx
	// even when the queue is full.
	s.stopTails()
	s.tails.Wait()
	s.closeLines()
	if g != nil {
		if _, gerr := g.stop(false); gerr != nil {
			fail(gerr)
		}
	} else {
		for range s.lines {
		}
	}
	if err := s.saveRegistry(); err != nil {
		return errors.Join(firstFault(), fmt.Errorf("save registry: %w", err))
	}
	a.log.Info("agent stopped", "lines_read", a.stats.LinesRead.Load(), "shipped", a.stats.Shipped.Load(), "dead_lettered", a.stats.DeadLettered.Load())
	return firstFault()
}

// SuperadminKey returns key when it is set; otherwise the key stored in
// dataDir, created on first use. A new key is passed to notice once (nil:
// its path, not the key, is printed to standard error), never logged.
func SuperadminKey(dataDir, key string, notice func(key, path string)) (string, error) {
	if key != "" {
		return key, nil
	}
	k, created, err := query.LoadOrCreateKey(dataDir)
	if err != nil {
		return "", fmt.Errorf("super-admin key: %w", err)
	}
	if created {
		p := filepath.Join(dataDir, "superadmin.key")
		if notice != nil {
			notice(k, p)
		} else {
			fmt.Fprintf(os.Stderr, "auditship: generated a super-admin API key into %s\n", p)
		}
	}
	return k, nil
}

// internalEvent is an event the agent records itself, with the channel
// (capacity 1) that learns whether it was durably stored.
type internalEvent struct {
	e    event.Event
	done chan error
}

// recordTimeout bounds how long a read of /audit-logs waits for its own
// audit event to be stored.
const recordTimeout = 10 * time.Second

// record ships an event the agent made itself (the audit of a read of
// /audit-logs) and returns once every output has durably stored it, so that
// a read is never served unaudited. It returns an error when that did not
// happen within recordTimeout or before ctx ended; the query API then
// answers 503 instead of the events.
func (a *Agent) record(ctx context.Context, e event.Event) error {
	if e.ID == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		e.ID = int64(binary.LittleEndian.Uint64(b[:])&(1<<63-1)) | 1
	}
	ctx, cancel := context.WithTimeout(ctx, recordTimeout)
	defer cancel()
	done := make(chan error, 1)
	select {
	case a.internal <- internalEvent{e: e, done: done}:
	case <-ctx.Done():
		a.log.Error("audit event of a read not recorded: pipeline full", "event_name", e.Name, "event_id", e.ID)
		return fmt.Errorf("record audit event: %w", ctx.Err())
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		a.log.Error("audit event of a read not confirmed in time", "event_name", e.Name, "event_id", e.ID)
		return fmt.Errorf("record audit event: %w", ctx.Err())
	}
}
