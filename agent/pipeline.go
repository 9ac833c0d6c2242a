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
}

type ack struct {
	fileID string
	end    int64
}

type pipeline struct {
	cfg      *config.Config
	log      *slog.Logger
	stats    *Stats
	reg      *registry.Registry
	dl       *deadletter.Writer
	outs     []outputs.Output
	internal <-chan event.Event
	inputs   map[string]*config.Input
	stalled  bool // an acknowledgement could not be made safe: ack nothing more
}

// process turns lines into batches until lines is closed, then sends the last
// batch and closes out.
func (p *pipeline) process(ctx context.Context, lines <-chan tailer.Line, out chan<- *batch) {
	defer close(out)
	p.inputs = map[string]*config.Input{}
	for i := range p.cfg.Inputs {
		p.inputs[p.cfg.Inputs[i].Name] = &p.cfg.Inputs[i]
	}
	b := &batch{}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() {
		if len(b.acks) == 0 && len(b.events) == 0 {
			return
		}
		out <- b
		b = &batch{}
		timer.Stop()
	}
	internal := p.internal
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				flush()
				return
			}
			empty := len(b.acks) == 0 && len(b.events) == 0
			p.handle(b, l)
			if empty {
				timer.Reset(p.cfg.Pipeline.FlushInterval)
			}
		case e := <-internal:
			empty := len(b.acks) == 0 && len(b.events) == 0
			if err := p.cfg.Schemas.Apply(&e); err != nil {
				p.log.Error("internal audit event rejected", "event_name", e.Name, "error", err)
				continue
			}
			b.events = append(b.events, e)
			b.raws = append(b.raws, nil)
			if empty {
				timer.Reset(p.cfg.Pipeline.FlushInterval)
			}
		case <-timer.C:
			flush()
			continue
		case <-ctx.Done():
			// Stop taking internal events; keep draining lines until the
			// tailers have stopped and closed the channel.
			internal = nil
			ctx = context.Background()
			continue
		}
		if len(b.events) >= p.cfg.Pipeline.BatchEvents || b.bytes >= p.cfg.Pipeline.BatchBytes {
			flush()
		}
	}
}

// handle turns one line into an event, a skip or a dead-letter record.
func (p *pipeline) handle(b *batch, l tailer.Line) {
	p.stats.LinesRead.Add(1)
	b.acks = append(b.acks, ack{fileID: l.Source.FileID, end: l.Source.End})
	b.bytes += len(l.Text)
	in := p.inputs[l.Source.Input]
	if in == nil {
		p.deadLetter(l.Source, l.Text, fmt.Sprintf("no input named %q", l.Source.Input))
		return
	}
	if l.Oversize {
		p.deadLetter(l.Source, l.Text, fmt.Sprintf("line longer than max_line_bytes (%d bytes); only its first %d bytes are kept here", in.Tailer.MaxLineBytes, len(l.Text)))
		return
	}
	rec, err := in.Decoder.Decode(l.Text)
	if err != nil {
		if errors.Is(err, parsers.ErrSkip) {
			p.stats.Skipped.Add(1)
			return
		}
		p.deadLetter(l.Source, l.Text, fmt.Sprintf("parse %s: %s", in.ParserType, err))
		return
	}
	e, err := in.Mapping.Map(rec, l.Text, l.Source)
	if err != nil {
		if errors.Is(err, parsers.ErrSkip) {
			p.stats.Skipped.Add(1)
			return
		}
		p.deadLetter(l.Source, l.Text, "mapping: "+err.Error())
		return
	}
	if err := p.cfg.Schemas.Apply(&e); err != nil {
		p.deadLetter(l.Source, l.Text, "schema: "+err.Error())
		return
	}
	b.events = append(b.events, e)
	b.raws = append(b.raws, l.Text)
}

func (p *pipeline) deadLetter(src event.Position, line []byte, reason string) {
	p.stats.DeadLettered.Add(1)
	p.log.Warn("line dead-lettered", "path", src.Path, "offset", src.Offset, "error", reason)
	if err := p.dl.Write(deadletter.NewRecord(src, line, reason, time.Now())); err != nil {
		// The line is not lost: the writer's error is sticky, so deliver's
		// Sync fails and no offset is acknowledged past this line.
		p.log.Error("dead-letter write failed", "path", src.Path, "offset", src.Offset, "error", err)
	}
}

// deliver writes each batch to every output, dead-letters what the outputs
// reject, and acknowledges the batch's offsets. When ctx ends it stops
// delivering and drains the queue without acknowledging anything.
func (p *pipeline) deliver(ctx context.Context, in <-chan *batch) {
	for b := range in {
		if ctx.Err() != nil {
			continue
		}
		rejected := map[int]string{}
		delivered := true
		for i, o := range p.outs {
			if err := p.writeAll(ctx, o, p.cfg.Outputs[i].Name, b, rejected); err != nil {
				delivered = false
				break
			}
		}
		if !delivered {
			continue
		}
		for i, reason := range rejected {
			p.deadLetter(b.events[i].Source, b.raws[i], "output: "+reason)
		}
		if err := p.dl.Sync(); err != nil && !p.stalled {
			// Acknowledging past this batch could lose its dead-letter
			// records; from here on nothing is acknowledged, so a restart
			// reads these lines again.
			p.stalled = true
			p.log.Error("dead-letter file cannot be written; offsets are no longer acknowledged until restart", "error", err)
		}
		if p.stalled {
			continue
		}
		p.stats.Shipped.Add(int64(len(b.events) - len(rejected)))
		for _, a := range b.acks {
			p.reg.Ack(a.fileID, a.end)
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
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = 100 * time.Millisecond
	bo.MaxInterval = 30 * time.Second
	bo.MaxElapsedTime = 0
	attempt := 0
	for len(pending) > 0 {
		sub := make([]event.Event, len(pending))
		for j, i := range pending {
			sub[j] = b.events[i]
		}
		start := time.Now()
		err := o.Write(ctx, sub)
		if err == nil {
			p.log.Debug("batch written", "output", name, "count", len(sub), "duration", time.Since(start))
			return nil
		}
		var be *outputs.BatchError
		if errors.As(err, &be) {
			var retry []int
			for _, it := range be.Items {
				if it.Index < 0 || it.Index >= len(pending) {
					continue
				}
				if it.Retryable {
					retry = append(retry, pending[it.Index])
				} else {
					rejected[pending[it.Index]] = it.Reason
				}
			}
			pending = retry
			if len(pending) == 0 {
				return nil
			}
		}
		attempt++
		p.stats.Retries.Add(1)
		wait := bo.NextBackOff()
		lvl := slog.LevelWarn
		if attempt >= 10 {
			lvl = slog.LevelError
		}
		p.log.Log(ctx, lvl, "output write failed, retrying", "output", name, "count", len(pending), "attempt", attempt, "retry_in", wait, "error", err)
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

// saveLoop writes the registry every registry_flush_interval until done is
// closed.
func (p *pipeline) saveLoop(done <-chan struct{}) {
	t := time.NewTicker(p.cfg.RegistryFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if err := p.reg.Save(); err != nil {
				p.log.Error("registry save failed", "error", err)
			}
		case <-done:
			return
		}
	}
}
