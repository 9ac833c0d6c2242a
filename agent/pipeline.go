package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/auditship/auditship/agent/config"
	"github.com/auditship/auditship/agent/deadletter"
	"github.com/auditship/auditship/agent/registry"
	"github.com/auditship/auditship/agent/tailer"
	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
	"github.com/auditship/auditship/parsers"
)

// batch is a run of consecutive lines: the events to deliver and, in read
// order, the offsets to acknowledge once they are delivered.
type batch struct {
	events []event.Event
	raws   [][]byte // raw line of each event, for the dead-letter file
	acks   []ack
	bytes  int
	// waiters are told, once the batch is delivered, whether the event the
	// agent recorded itself (an audit of a read) is durably stored.
	waiters []waiter
}

// waiter is the done channel (capacity 1) of the internal event at index.
type waiter struct {
	index int
	done  chan<- error
}

func (b *batch) empty() bool { return len(b.acks) == 0 && len(b.events) == 0 }

type ack struct {
	fileID string
	end    int64
}

// pipeline is the delivery side of one generation (see reload.go).
type pipeline struct {
	cfg  *config.Config // of the generation: batching, schemas, outputs
	log  *slog.Logger
	a    *Agent // stats, metrics, health, the inputs by name
	reg  *registry.Registry
	dl   *deadletter.Writer
	outs []outputs.Output
	// held are the written batches not acknowledged because the
	// dead-letter file could not be synced, in order; they are
	// acknowledged after the next successful sync.
	held []heldBatch
}

// heldBatch is what acknowledging a batch needs once its events are gone.
type heldBatch struct {
	acks     []ack
	waiters  []waiter
	rejected map[int]string
	shipped  int
}

// process turns chunks of lines into batches until lines is closed or stop
// is closed, then sends the last batch and closes out. After stop, chunks
// left in the queue stay there for the next generation.
func (p *pipeline) process(stop <-chan struct{}, lines <-chan []tailer.Line, out chan<- *batch) {
	defer close(out)
	// Each batch is sized like the one before it, so that a backfill's
	// full batches are allocated once rather than grown by doubling.
	newBatch := func(events, lines int) *batch {
		n := max(16, events)
		lines = max(16, lines)
		return &batch{
			events: make([]event.Event, 0, n),
			raws:   make([][]byte, 0, n),
			acks:   make([]ack, 0, lines),
		}
	}
	b := newBatch(0, 0)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	start := func() {
		if b.empty() {
			timer.Reset(p.cfg.Pipeline.FlushInterval)
			p.a.m.track(b, time.Now())
		}
	}
	flush := func() {
		if b.empty() {
			return
		}
		events, lines := len(b.events), len(b.acks)
		out <- b
		b = newBatch(events, lines)
		timer.Stop()
	}
	full := func() bool {
		return len(b.events) >= p.cfg.Pipeline.BatchEvents || b.bytes >= p.cfg.Pipeline.BatchBytes
	}
	for {
		select {
		case chunk, ok := <-lines:
			if !ok {
				flush()
				return
			}
			if len(chunk) == 0 {
				continue
			}
			c := p.chunkOf(chunk[0].Source.Input)
			for _, l := range chunk {
				start()
				p.handle(b, c, l)
				if full() {
					c.publish()
					flush()
				}
			}
			c.publish()
			continue
		case ie := <-p.a.internal:
			e := ie.e
			if err := p.cfg.Schemas.Apply(&e); err != nil {
				p.log.Error("internal audit event rejected", "event_name", e.Name, "error", err)
				ie.done <- fmt.Errorf("audit event rejected: %w", err)
				continue
			}
			start()
			b.waiters = append(b.waiters, waiter{index: len(b.events), done: ie.done})
			b.events = append(b.events, e)
			b.raws = append(b.raws, nil)
			// A read of /audit-logs waits for its audit event: ship it now
			// rather than after flush_interval.
			flush()
			continue
		case <-timer.C:
			flush()
			continue
		case <-stop:
			flush()
			return
		}
	}
}

// chunkState is what handle needs of the input a chunk of lines came from
// (every line of a chunk is of one input), and the counts it adds to the
// metrics once per chunk rather than once per line.
type chunkState struct {
	in      *config.Input // nil: the input is gone (a reload removed it)
	decode  func([]byte) (parsers.Record, error)
	release func(parsers.Record, map[string]any) // nil: the decoder reuses nothing
	// paths decodes only the values the mapping reads, into vals; nil
	// when the input cannot (see config.Input.DecodePaths).
	paths   parsers.PathsFunc
	vals    []any
	name    string
	read    int64
	skipped int64
	p       *pipeline
}

func (p *pipeline) chunkOf(input string) *chunkState {
	c := &chunkState{in: p.a.inputFor(input), name: input, p: p}
	if c.in != nil {
		c.decode = c.in.Decoder.Decode
		// The tailer hands each line's bytes over for good and nothing
		// here writes to them: records may alias them.
		if od, ok := c.in.Decoder.(parsers.OwnedDecoder); ok {
			c.decode = od.DecodeOwned
		}
		if r, ok := c.in.Decoder.(parsers.Releaser); ok {
			c.release = r.Release
		}
		if c.in.DecodePaths != nil {
			c.paths, c.vals = c.in.DecodePaths, make([]any, c.in.PathCount)
		}
	}
	return c
}

// publish adds the counts so far to the stats and metrics, and resets them.
func (c *chunkState) publish() {
	st, m := &c.p.a.stats, c.p.a.m
	if c.read > 0 {
		st.LinesRead.Add(c.read)
		m.linesRead.WithLabelValues(c.name).Add(float64(c.read))
	}
	if c.skipped > 0 {
		st.Skipped.Add(c.skipped)
		m.linesSkipped.WithLabelValues(c.name).Add(float64(c.skipped))
	}
	c.read, c.skipped = 0, 0
}

// handle turns one line of chunk c into an event, a skip or a dead-letter
// record.
func (p *pipeline) handle(b *batch, c *chunkState, l tailer.Line) {
	c.read++
	p.a.stats.BytesRead.Add(l.Source.End - l.Source.Offset)
	b.acks = append(b.acks, ack{fileID: l.Source.FileID, end: l.Source.End})
	b.bytes += len(l.Text)
	in := c.in
	if in == nil {
		p.deadLetter(l.Source, l.Text, reasonParse, fmt.Sprintf("no input named %q", l.Source.Input))
		return
	}
	if l.Oversize {
		p.deadLetter(l.Source, l.Text, reasonOversize, fmt.Sprintf("line longer than max_line_bytes (%d bytes); only its first %d bytes are kept here", in.Tailer.MaxLineBytes, len(l.Text)))
		return
	}
	e, kind, err := c.event(l)
	if err != nil {
		if errors.Is(err, parsers.ErrSkip) {
			c.skipped++
			return
		}
		reason := "mapping: " + err.Error()
		switch kind {
		case reasonParse:
			reason = fmt.Sprintf("parse %s: %s", in.ParserType, err)
		case reasonSchema:
			reason = "schema: " + err.Error()
		}
		p.deadLetter(l.Source, l.Text, kind, reason)
		return
	}
	b.events = append(b.events, e)
	b.raws = append(b.raws, l.Text)
}

// event decodes, maps and checks line l of chunk c. An error wraps
// [parsers.ErrSkip] for a line that is not an audit event; any other comes
// with the reason* constant of the step that failed.
func (c *chunkState) event(l tailer.Line) (e event.Event, kind string, err error) {
	in := c.in
	if c.paths != nil {
		ok, err := c.paths(l.Text, c.vals)
		if err != nil {
			return e, reasonParse, err
		}
		if ok {
			e, err = in.Mapping.MapValues(c.vals, l.Text, l.Source)
			clear(c.vals) // keep no line's values alive past it
			if err != nil {
				return e, reasonMapping, err
			}
			if err := c.p.cfg.Schemas.Apply(&e); err != nil {
				return e, reasonSchema, err
			}
			return e, "", nil
		}
		// A line the paths cannot serve (a dotted key to expand): decode
		// it whole.
	}
	rec, err := c.decode(l.Text)
	if err != nil {
		return e, reasonParse, err
	}
	e, err = in.Mapping.Map(rec, l.Text, l.Source)
	if err != nil {
		if c.release != nil {
			c.release(rec, nil)
		}
		return e, reasonMapping, err
	}
	err = c.p.cfg.Schemas.Apply(&e)
	if c.release != nil {
		// Only the event's details (which may share maps with the record,
		// and which Apply may have replaced) outlive the record.
		c.release(rec, e.Details)
	}
	if err != nil {
		return e, reasonSchema, err
	}
	return e, "", nil
}

// deadLetter writes line to the dead-letter file. kind is one of the reason*
// constants; reason, which may quote parts of the line, is logged only at
// Debug: audit payloads carry secrets.
func (p *pipeline) deadLetter(src event.Position, line []byte, kind, reason string) {
	p.a.stats.DeadLettered.Add(1)
	p.a.m.deadLettered.WithLabelValues(kind).Inc()
	p.log.Warn("line dead-lettered", "path", src.Path, "offset", src.Offset, "reason", kind)
	p.log.Debug("line dead-lettered", "path", src.Path, "offset", src.Offset, "error", reason)
	if err := p.dl.Write(deadletter.NewRecord(src, line, reason, time.Now())); err != nil {
		// The line is not lost: the writer's error is sticky, so deliver's
		// Sync fails and no offset is acknowledged past this line.
		p.log.Error("dead-letter write failed", "path", src.Path, "offset", src.Offset, "error", err)
	}
}

// deliver writes the leftover batches of an earlier generation, then each
// batch from in, to every output, dead-letters what the outputs reject, and
// acknowledges the batch's offsets. Up to p.window() batches are written at
// once (outputs that take concurrent writes; see [outputs.Concurrent]); they
// are acknowledged strictly in order, each as soon as it and every batch
// before it are written. When ctx ends it stops delivering and drains in
// without acknowledging anything; it returns the batches it did not
// acknowledge, in order (writing them again is idempotent).
func (p *pipeline) deliver(ctx context.Context, leftover []*batch, in <-chan *batch) []*batch {
	window := p.window()
	type flight struct {
		b        *batch
		rejected map[int]string // by event index; filled by the writer
		written  chan bool      // capacity 1: the writer's outcome
	}
	var (
		queue       []*flight // in order; queue[0] is acknowledged first
		undelivered []*batch
		failed      bool // a write ended with ctx: acknowledge nothing more
	)
	finish := func(f *flight, ok bool) {
		queue = queue[1:]
		if failed || !ok {
			failed = true
			undelivered = append(undelivered, f.b)
			return
		}
		p.acknowledge(f.b, f.rejected)
	}
	start := func(b *batch) {
		if failed || ctx.Err() != nil {
			for len(queue) > 0 { // keep the order of what is returned
				finish(queue[0], <-queue[0].written)
			}
			failed = true
			undelivered = append(undelivered, b)
			return
		}
		f := &flight{b: b, rejected: map[int]string{}, written: make(chan bool, 1)}
		queue = append(queue, f)
		if window == 1 { // one at a time: no goroutine
			finish(f, p.writeOutputs(ctx, b, f.rejected))
			return
		}
		go func() { f.written <- p.writeOutputs(ctx, b, f.rejected) }()
	}
	// room acknowledges heads until fewer than window batches are in flight.
	room := func() {
		for len(queue) >= window {
			finish(queue[0], <-queue[0].written)
		}
	}
	for _, b := range leftover {
		room()
		start(b)
	}
	for open := true; open; {
		room()
		var head chan bool // nil while nothing is in flight: never ready
		if len(queue) > 0 {
			head = queue[0].written
		}
		var retry <-chan time.Time // nil while no batch is held: never ready
		if len(p.held) > 0 {
			retry = time.After(time.Second)
		}
		select {
		case b, ok := <-in:
			if open = ok; ok {
				start(b)
			}
		case ok := <-head:
			finish(queue[0], ok)
		case <-retry:
			p.syncDeadLetter()
		}
	}
	for len(queue) > 0 {
		finish(queue[0], <-queue[0].written)
	}
	if len(p.held) > 0 {
		p.syncDeadLetter()
	}
	return undelivered
}

// window is how many batches deliver writes at once: the least that any
// output takes (1 unless every output implements [outputs.Concurrent]).
func (p *pipeline) window() int {
	w := 0
	for _, o := range p.outs {
		c, ok := o.(outputs.Concurrent)
		if !ok {
			return 1
		}
		n := max(1, c.MaxInflightBatches())
		if w == 0 || n < w {
			w = n
		}
	}
	return max(1, w)
}

// writeOutputs writes b to every output, recording what they reject for
// good in rejected; it reports false when ctx ended first.
func (p *pipeline) writeOutputs(ctx context.Context, b *batch, rejected map[int]string) bool {
	for i, o := range p.outs {
		if err := p.writeAll(ctx, o, p.cfg.Outputs[i].Name, b, rejected); err != nil {
			return false
		}
	}
	return true
}

// acknowledge dead-letters what the outputs rejected of the written batch b
// and acknowledges its offsets and waiters.
func (p *pipeline) acknowledge(b *batch, rejected map[int]string) {
	defer p.a.m.untrack(b)
	for i, reason := range rejected {
		p.deadLetter(b.events[i].Source, b.raws[i], reasonOutput, "output: "+reason)
	}
	h := heldBatch{acks: b.acks, waiters: b.waiters, rejected: rejected, shipped: len(b.events) - len(rejected)}
	if !p.syncDeadLetter() {
		p.held = append(p.held, h)
		return
	}
	if d := p.dl.Dropped(); d > p.a.dlDropped.Load() {
		n := d - p.a.dlDropped.Swap(d)
		p.a.m.dlDropped.Add(float64(n))
		p.log.Warn("dead-letter rotation deleted the oldest file's records; raise dead_letter.max_files or max_bytes to keep more", "records", n, "max_files", p.cfg.DeadLetter.MaxFiles)
	}
	p.ack(h)
}

// syncDeadLetter makes the dead-letter records written so far durable and
// reports whether it could. Acknowledging a batch before that could lose
// its records: while it cannot, the batches wait in p.held, in order (the
// writer keeps the records; a restart meanwhile reads the lines again), and
// the first sync that succeeds acknowledges them. deliver retries every
// second while batches are held.
func (p *pipeline) syncDeadLetter() bool {
	if err := p.dl.Sync(); err != nil {
		if len(p.held) == 0 {
			p.log.Error("dead-letter file cannot be written; offsets are held back until it can", "error", err)
		}
		p.a.health.setDeadLetter(err)
		return false
	}
	if len(p.held) > 0 {
		p.log.Info("dead-letter file written again; acknowledging the batches held back", "batches", len(p.held))
		for _, h := range p.held {
			p.ack(h)
		}
		p.held = nil
		p.a.health.setDeadLetter(nil)
	}
	return true
}

// ack acknowledges a written batch's offsets and tells its waiters.
func (p *pipeline) ack(h heldBatch) {
	p.a.stats.Shipped.Add(int64(h.shipped))
	for _, a := range h.acks {
		p.reg.Ack(a.fileID, a.end)
	}
	for _, w := range h.waiters {
		if reason, ok := h.rejected[w.index]; ok {
			w.done <- fmt.Errorf("audit event rejected by an output: %s", reason)
		} else {
			w.done <- nil
		}
	}
}

// writeAll writes b.events to o until every event is accepted or rejected for
// good (recorded in rejected, by index), retrying with jittered exponential
// backoff for as long as it takes. It returns an error only when ctx ends.
func (p *pipeline) writeAll(ctx context.Context, o outputs.Output, name string, b *batch, rejected map[int]string) error {
	pending := make([]int, 0, len(b.events))
	for i := range b.events {
		if _, ok := rejected[i]; !ok {
			pending = append(pending, i)
		}
	}
	m := p.a.m
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = 100 * time.Millisecond
	bo.MaxInterval = 30 * time.Second
	bo.MaxElapsedTime = 0
	attempt := 0
	for len(pending) > 0 {
		sub := b.events // the usual case: every event, first attempt
		if len(pending) < len(b.events) {
			sub = make([]event.Event, len(pending))
			for j, i := range pending {
				sub[j] = b.events[i]
			}
		}
		start := time.Now()
		err := o.Write(ctx, sub)
		m.writeDuration.WithLabelValues(name).Observe(time.Since(start).Seconds())
		if err == nil {
			p.log.Debug("batch written", "output", name, "count", len(sub), "duration", time.Since(start))
			m.shipped.WithLabelValues(name).Add(float64(len(sub)))
			m.items.WithLabelValues(name, "done").Add(float64(len(sub)))
			p.a.health.writeOK(name)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var be *outputs.BatchError
		if errors.As(err, &be) {
			var retry []int
			nrej := 0
			for _, it := range be.Items {
				if it.Index < 0 || it.Index >= len(pending) {
					continue
				}
				if it.Retryable {
					retry = append(retry, pending[it.Index])
				} else {
					rejected[pending[it.Index]] = it.Reason
					nrej++
				}
			}
			done := len(pending) - len(retry) - nrej
			m.shipped.WithLabelValues(name).Add(float64(done))
			m.items.WithLabelValues(name, "done").Add(float64(done))
			m.items.WithLabelValues(name, "rejected").Add(float64(nrej))
			m.items.WithLabelValues(name, "retry").Add(float64(len(retry)))
			pending = retry
			if len(pending) == 0 {
				p.a.health.writeOK(name)
				return nil
			}
		} else {
			m.items.WithLabelValues(name, "retry").Add(float64(len(pending)))
		}
		p.a.health.writeFailed(name)
		attempt++
		p.a.stats.Retries.Add(1)
		m.retries.WithLabelValues(name).Inc()
		wait := bo.NextBackOff()
		lvl := slog.LevelWarn
		if attempt >= 10 {
			lvl = slog.LevelError
		}
		// Item reasons of a BatchError may quote detail values (Elasticsearch
		// previews a field that fails to parse): they go to Debug only.
		shown := err
		if be != nil {
			shown = fmt.Errorf("%d item(s) to retry", len(pending))
			p.log.Debug("output items failed", "output", name, "error", err)
		}
		p.log.Log(ctx, lvl, "output write failed, retrying", "output", name, "count", len(pending), "attempt", attempt, "retry_in", wait, "error", shown)
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	return nil
}

// saveLoop writes the registry every registry_flush_interval of cfg until
// ctx ends.
func (s *supervisor) saveLoop(ctx context.Context, cfg *config.Config) {
	t := time.NewTicker(cfg.RegistryFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := s.saveRegistry(); err != nil {
				s.a.log.Error("registry save failed", "error", err)
			}
		case <-ctx.Done():
			return
		}
	}
}
