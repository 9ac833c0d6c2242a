package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/auditship/auditship/agent"
	"github.com/auditship/auditship/agent/config"
	"github.com/auditship/auditship/agent/deadletter"
	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
)

// oversizePrefix starts the reason of a line the tailer cut at
// max_line_bytes: its record holds only the line's beginning, so it cannot
// be replayed.
const oversizePrefix = "line longer than max_line_bytes"

func replayCommand() *cli.Command {
	return &cli.Command{
		Name:  "replay",
		Usage: "send the dead-lettered lines through the current config again (after a fix)",
		Description: "Each record of the dead-letter file goes through the parser, mapping and schema of\n" +
			"its input as the config now says. Events that pass are written to every output and\n" +
			"their records removed; lines the config now skips are removed too; the others stay,\n" +
			"with their new reason. The file is rewritten atomically. A replayed line gets the\n" +
			"event_id it would have had the first time, so replaying again, or after a crash, stores\n" +
			"nothing twice. Stop the agent first: replay refuses to rewrite a file that grew while\n" +
			"it ran. Rotated files (deadletter.ndjson.1, ...) are not read. Exit codes: 0 every\n" +
			"record resolved, 1 runtime failure (the file is left unchanged), 2 configuration\n" +
			"error, 3 some records are still dead-lettered. The outputs' warnings (such as an event\n" +
			"stored without its searchable details copy) go to standard error, as the agent logs them.",
		Flags: append([]cli.Flag{configFlag}, logFlags...),
		Action: func(c *cli.Context) error {
			log, err := newLogger(c, c.App.ErrWriter)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(c, c.App.ErrWriter)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			res, err := replay(ctx, cfg, c.App.Writer, log)
			if err != nil {
				return exitf(1, "%w", err)
			}
			if res.torn != nil {
				fmt.Fprintf(c.App.ErrWriter, "warning: %v: left out of the rewritten file (its line was never acknowledged; the agent reads it again)\n", res.torn)
			}
			fmt.Fprintf(c.App.Writer, "%d record(s) replayed: %d delivered, %d skipped, %d still dead-lettered\n",
				res.total, res.delivered, res.skipped, res.kept)
			if res.kept > 0 {
				return exitf(3, "%d record(s) still dead-lettered in %s", res.kept, cfg.DeadLetter.Path)
			}
			return nil
		},
	}
}

// replayResult counts what a replay did with the records.
type replayResult struct {
	total, delivered, skipped, kept int
	torn                            *deadletter.TornError // a torn last record, left out of the rewritten file
}

// replay runs every record of the dead-letter file through cfg, delivers the
// events that pass to every output, and rewrites the file with the records
// that still fail. Progress for records still failing is printed to w; the
// outputs log to log.
func replay(ctx context.Context, cfg *config.Config, w io.Writer, log *slog.Logger) (replayResult, error) {
	var res replayResult
	path := cfg.DeadLetter.Path
	before, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("stat dead-letter file: %w", err)
	}
	// The agent must be stopped: it appends to the same file.
	unlock, err := agent.LockDataDir(cfg.DataDir)
	if err != nil {
		return res, fmt.Errorf("%w: stop the agent before replaying", err)
	}
	defer unlock()
	recs, err := deadletter.ReadFile(path)
	var torn *deadletter.TornError
	if errors.As(err, &torn) {
		// Its lines were never acknowledged: the agent reads them again.
		// The rewritten file leaves it out.
		res.torn = torn
	} else if err != nil {
		return res, err
	}
	res.total = len(recs)
	if len(recs) == 0 {
		return res, nil
	}
	inputs := map[string]*config.Input{}
	for i := range cfg.Inputs {
		inputs[cfg.Inputs[i].Name] = &cfg.Inputs[i]
	}

	var (
		events []event.Event
		idx    []int // record index of each event
		keep   = make([]bool, len(recs))
	)
	for i := range recs {
		r := &recs[i]
		raw, err := r.Raw()
		in := inputs[r.Input]
		var (
			e      event.Event
			out    outcome
			reason string
		)
		switch {
		case err != nil:
			out, reason = outDeadLetter, fmt.Sprintf("decode line_base64: %s", err)
		case strings.HasPrefix(r.Reason, oversizePrefix):
			out, reason = outDeadLetter, r.Reason
		case in == nil:
			out, reason = outDeadLetter, fmt.Sprintf("no input named %q", r.Input)
		default:
			// The position the agent gave the line: with the origin
			// recorded, a derived event_id is the one the line would have
			// had, so a replay stores it under that id.
			src := event.Position{Input: r.Input, Path: r.Path, Origin: r.Origin, Offset: r.Offset, End: r.Offset + int64(len(raw)) + 1}
			e, out, reason = runLine(cfg, in, src, raw, false)
		}
		switch out {
		case outEvent:
			events = append(events, e)
			idx = append(idx, i)
		case outSkipped:
			res.skipped++
		case outDeadLetter:
			keep[i] = true
			r.Reason = reason
			fmt.Fprintf(w, "%s:%d: dead-letter: %s\n", r.Path, r.Offset, reason)
		}
	}

	if len(events) > 0 {
		rejected, err := deliver(ctx, cfg, events, log)
		if err != nil {
			return replayResult{total: res.total}, err
		}
		for j, reason := range rejected {
			i := idx[j]
			keep[i] = true
			recs[i].Reason = reason
			fmt.Fprintf(w, "%s:%d: dead-letter: %s\n", recs[i].Path, recs[i].Offset, reason)
		}
		res.delivered = len(events) - len(rejected)
	}

	var rest []deadletter.Record
	for i, k := range keep {
		if k {
			rest = append(rest, recs[i])
		}
	}
	res.kept = len(rest)
	// The agent appends to this file; a record it wrote while we ran would
	// be lost by the rename. The events delivered so far are safe to
	// deliver again (same ids), so refusing leaves nothing inconsistent.
	if now, err := os.Stat(path); err != nil || now.Size() != before.Size() || !now.ModTime().Equal(before.ModTime()) {
		return replayResult{total: res.total}, fmt.Errorf("dead-letter file %q changed during the replay (is the agent running?); it was left as it was, run replay again with the agent stopped", path)
	}
	if err := rewrite(path, rest); err != nil {
		return replayResult{total: res.total}, err
	}
	return res, nil
}

// deliver writes events to every output of cfg, in batches of
// pipeline.batch_events. It returns the reasons of the events some output
// rejected for good, by index into events. A failure that may pass later
// (store unreachable, retryable items) is an error: nothing is removed from
// the dead-letter file then, and the events already written are written
// again, under the same ids, by the next replay.
func deliver(ctx context.Context, cfg *config.Config, events []event.Event, log *slog.Logger) (map[int]string, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data_dir: %w", err)
	}
	rejected := map[int]string{}
	for _, oc := range cfg.Outputs {
		o, err := agent.NewOutput(oc, cfg.DataDir, log)
		if err != nil {
			return nil, err
		}
		if op, ok := o.(outputs.Opener); ok {
			if err := op.Open(ctx); err != nil {
				return nil, fmt.Errorf("open output %q: %w", oc.Name, err)
			}
		}
		werr := writeBatches(ctx, o, oc.Name, events, cfg.Pipeline.BatchEvents, rejected)
		cerr := o.Close(context.WithoutCancel(ctx))
		if werr != nil {
			return nil, werr
		}
		if cerr != nil {
			return nil, fmt.Errorf("close output %q: %w", oc.Name, cerr)
		}
	}
	return rejected, nil
}

// writeBatches writes the events not yet in rejected to o, recording the
// items o rejects for good.
func writeBatches(ctx context.Context, o outputs.Output, name string, events []event.Event, size int, rejected map[int]string) error {
	var pending []int
	for i := range events {
		if _, ok := rejected[i]; !ok {
			pending = append(pending, i)
		}
	}
	for len(pending) > 0 {
		n := min(size, len(pending))
		chunk := pending[:n]
		pending = pending[n:]
		batch := make([]event.Event, len(chunk))
		for j, i := range chunk {
			batch[j] = events[i]
		}
		err := o.Write(ctx, batch)
		if err == nil {
			continue
		}
		var be *outputs.BatchError
		if !errors.As(err, &be) {
			return fmt.Errorf("write to output %q: %w", name, err)
		}
		for _, it := range be.Items {
			if it.Index < 0 || it.Index >= len(chunk) {
				continue
			}
			if it.Retryable {
				return fmt.Errorf("write to output %q: %s (retryable; run replay again later)", name, it.Reason)
			}
			rejected[chunk[it.Index]] = "output: " + it.Reason
		}
	}
	return nil
}

// rewrite replaces the dead-letter file at path by recs: written to a
// temporary file in the same directory, fsynced, renamed over path, and the
// directory fsynced.
func rewrite(path string, recs []deadletter.Record) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".replay-*")
	if err != nil {
		return fmt.Errorf("rewrite dead-letter file: %w", err)
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("rewrite dead-letter file: %w", err)
	}
	enc := json.NewEncoder(tmp)
	for _, r := range recs {
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("rewrite dead-letter file: %w", err)
		}
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("rewrite dead-letter file: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("rewrite dead-letter file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("rewrite dead-letter file: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("rewrite dead-letter file: sync directory: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("rewrite dead-letter file: sync directory: %w", err)
	}
	return nil
}
