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

	"github.com/auditship/auditship/agent/config"
	"github.com/auditship/auditship/agent/deadletter"
	"github.com/auditship/auditship/agent/registry"
	"github.com/auditship/auditship/agent/tailer"
	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
	"github.com/auditship/auditship/query"
)

// Options are the run-time choices that are not part of agent.hcl.
type Options struct {
	// Once reads every matched file to its current end, delivers, saves the
	// offsets and returns, like a backfill. No query API is served.
	Once bool
	// SuperadminKey is the key that may read /audit-logs; "" means: use the
	// key stored in data_dir/superadmin.key, creating it on first start.
	SuperadminKey string
	// KeyNotice receives the generated super-admin key once, the first time
	// it is created; nil prints it to standard error.
	KeyNotice func(key, path string)
	// Ready, when set, is called once the query API listens, with its address.
	Ready func(queryAddr string)
}

// Stats are the agent's running totals. Fields are updated atomically.
type Stats struct {
	LinesRead    atomic.Int64 // lines received from the tailers
	Skipped      atomic.Int64 // lines that are not audit events
	Shipped      atomic.Int64 // events accepted by every output
	DeadLettered atomic.Int64 // lines and events written to the dead-letter file
	Retries      atomic.Int64 // output writes that failed and were tried again
}

// Agent is one running auditship agent.
type Agent struct {
	cfg   *config.Config
	log   *slog.Logger
	opts  Options
	stats Stats

	internal chan event.Event // events the agent makes itself (reads of /audit-logs)
}

// New checks the options; it does no I/O and starts nothing.
func New(cfg *config.Config, log *slog.Logger, opts Options) (*Agent, error) {
	if cfg == nil {
		return nil, errors.New("agent: nil config")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Agent{cfg: cfg, log: log, opts: opts, internal: make(chan event.Event, 1024)}, nil
}

// Stats returns the agent's running totals.
func (a *Agent) Stats() *Stats { return &a.stats }

// Run starts the registry, the outputs, the query API and the tailers, and
// blocks until ctx ends (or, with Options.Once, until every file is read and
// delivered). It returns nil on a normal stop and an error when a component
// cannot start or fails.
func (a *Agent) Run(ctx context.Context) (err error) {
	cfg := a.cfg
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("create data_dir: %w", err)
	}
	reg, err := registry.Open(filepath.Join(cfg.DataDir, "registry.json"), cfg.RegistryTTL)
	if err != nil {
		return err
	}
	dl, err := deadletter.Open(cfg.DeadLetter.Path, cfg.DeadLetter.MaxBytes, cfg.DeadLetter.MaxFiles)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, dl.Close()) }()

	outs, searchers, err := a.openOutputs(ctx)
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
		defer cancel()
		for i, o := range outs {
			if cerr := o.Close(cctx); cerr != nil {
				err = errors.Join(err, fmt.Errorf("close output %q: %w", cfg.Outputs[i].Name, cerr))
			}
		}
	}()

	var wg sync.WaitGroup
	var fault error
	var faultOnce sync.Once
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	fail := func(e error) {
		faultOnce.Do(func() { fault = e })
		stop()
	}

	if cfg.Query != nil && !a.opts.Once {
		srv, err := a.newQueryServer(searchers)
		if err != nil {
			return err
		}
		wg.Go(func() {
			if err := srv.Run(runCtx); err != nil {
				fail(fmt.Errorf("query API: %w", err))
			}
		})
		if a.opts.Ready != nil {
			wg.Go(func() {
				select {
				case <-srv.Ready():
					a.opts.Ready(srv.Addr())
				case <-runCtx.Done():
				}
			})
		}
	}

	lines := make(chan tailer.Line, cfg.Pipeline.MaxInflightEvents)
	var tailers sync.WaitGroup
	for _, in := range cfg.Inputs {
		t, err := tailer.New(in.Name, in.Tailer, reg, a.log)
		if err != nil {
			stop()
			wg.Wait()
			return fmt.Errorf("input %q: %w", in.Name, err)
		}
		tailers.Go(func() {
			if err := t.Run(runCtx, lines); err != nil {
				fail(fmt.Errorf("input %q: %w", in.Name, err))
			}
		})
	}
	go func() { tailers.Wait(); close(lines) }()

	// The delivery context outlives runCtx by shutdown_timeout, so what is in
	// flight at a stop can still be delivered.
	deliverCtx, cancelDeliver := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelDeliver()
	wg.Go(func() {
		select {
		case <-runCtx.Done():
			t := time.NewTimer(cfg.ShutdownTimeout)
			defer t.Stop()
			select {
			case <-t.C:
				a.log.Warn("shutdown timeout reached, undelivered events will be read again at next start", "duration", cfg.ShutdownTimeout)
				cancelDeliver()
			case <-deliverCtx.Done():
			}
		case <-deliverCtx.Done():
		}
	})

	p := &pipeline{
		cfg: cfg, log: a.log.With("component", "pipeline"), stats: &a.stats,
		reg: reg, dl: dl, outs: outs, internal: a.internal,
	}
	batches := make(chan *batch, 2)
	wg.Go(func() { p.process(runCtx, lines, batches) })
	saveDone := make(chan struct{})
	wg.Go(func() { p.saveLoop(saveDone) })
	p.deliver(deliverCtx, batches)
	close(saveDone)
	cancelDeliver()
	stop()
	// Drain what tailers may still send so that they can return.
	go func() {
		for range lines {
		}
	}()
	tailers.Wait()
	wg.Wait()
	if err := reg.Save(); err != nil {
		return errors.Join(fault, fmt.Errorf("save registry: %w", err))
	}
	a.log.Info("agent stopped", "lines_read", a.stats.LinesRead.Load(), "shipped", a.stats.Shipped.Load(), "dead_lettered", a.stats.DeadLettered.Load())
	return fault
}

// openOutputs builds and opens every output; searchers maps output names to
// those that can serve queries.
func (a *Agent) openOutputs(ctx context.Context) ([]outputs.Output, map[string]outputs.Searcher, error) {
	var outs []outputs.Output
	searchers := map[string]outputs.Searcher{}
	for _, oc := range a.cfg.Outputs {
		o, err := NewOutput(oc, a.cfg.DataDir, a.log)
		if err != nil {
			return nil, nil, err
		}
		if op, ok := o.(outputs.Opener); ok {
			if err := op.Open(ctx); err != nil {
				for _, prev := range outs {
					_ = prev.Close(context.WithoutCancel(ctx))
				}
				return nil, nil, fmt.Errorf("open output %q: %w", oc.Name, err)
			}
		}
		outs = append(outs, o)
		if s, ok := o.(outputs.Searcher); ok {
			searchers[oc.Name] = s
		}
		a.log.Info("output opened", "output", oc.Name, "type", oc.Type)
	}
	return outs, searchers, nil
}

func (a *Agent) newQueryServer(searchers map[string]outputs.Searcher) (*query.Server, error) {
	s, ok := searchers[a.cfg.QueryFrom]
	if !ok {
		return nil, fmt.Errorf("query API: output %q cannot serve queries", a.cfg.QueryFrom)
	}
	key, err := SuperadminKey(a.cfg.DataDir, a.opts.SuperadminKey, a.opts.KeyNotice)
	if err != nil {
		return nil, err
	}
	return query.New(*a.cfg.Query, s, query.Options{
		SuperadminKey: key,
		OnRead:        a.record,
		Log:           a.log,
	})
}

// SuperadminKey returns key when it is set; otherwise the key stored in
// dataDir, created on first use. A new key is passed to notice once (nil:
// printed to standard error), never logged.
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
			fmt.Fprintf(os.Stderr, "auditship: generated a super-admin API key (stored in %s, shown only once):\n\n    export AUDITSHIP_SUPERADMIN_KEY=%s\n\n", p, k)
		}
	}
	return k, nil
}

// record queues an event the agent made itself (an audit of a read of
// /audit-logs). It waits up to a second when the pipeline is full and logs
// an error if the event had to be dropped.
func (a *Agent) record(e event.Event) {
	if e.ID == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		e.ID = int64(binary.LittleEndian.Uint64(b[:])&(1<<63-1)) | 1
	}
	t := time.NewTimer(time.Second)
	defer t.Stop()
	select {
	case a.internal <- e:
	case <-t.C:
		a.log.Error("audit event of a read dropped: pipeline full", "event_name", e.Name, "event_id", e.ID)
	}
}
