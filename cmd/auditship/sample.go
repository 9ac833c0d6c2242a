package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/auditship/auditship/agent/config"
	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/parsers"
)

// outcome is what the pipeline makes of one line.
type outcome int

const (
	outEvent      outcome = iota // an event to deliver
	outSkipped                   // not an audit event: acknowledged and dropped
	outDeadLetter                // dead-lettered with a reason
)

// runLine runs one line through in's decoder, mapping and the config's
// schemas, as the agent's pipeline does, and returns the event, or the
// dead-letter reason in the agent's words. oversize reports that line holds
// only the first max_line_bytes bytes of a longer line.
func runLine(cfg *config.Config, in *config.Input, src event.Position, line []byte, oversize bool) (event.Event, outcome, string) {
	if oversize {
		return event.Event{}, outDeadLetter, fmt.Sprintf("line longer than max_line_bytes (%d bytes); only its first %d bytes are kept here", in.Tailer.MaxLineBytes, len(line))
	}
	rec, err := in.Decoder.Decode(line)
	if err != nil {
		if errors.Is(err, parsers.ErrSkip) {
			return event.Event{}, outSkipped, err.Error()
		}
		return event.Event{}, outDeadLetter, fmt.Sprintf("parse %s: %s", in.ParserType, err)
	}
	e, err := in.Mapping.Map(rec, line, src)
	if err != nil {
		if errors.Is(err, parsers.ErrSkip) {
			return event.Event{}, outSkipped, err.Error()
		}
		return event.Event{}, outDeadLetter, "mapping: " + err.Error()
	}
	if err := cfg.Schemas.Apply(&e); err != nil {
		return event.Event{}, outDeadLetter, "schema: " + err.Error()
	}
	return e, outEvent, ""
}

// sampleStats counts the outcomes of the sample lines.
type sampleStats struct {
	events, skipped, deadLettered int
}

// inputFor returns the input that reads path: the one named name when name
// is set, else the first whose paths match path (and whose exclude does
// not), else the first input. how says which rule chose it.
func inputFor(cfg *config.Config, path, name string) (in *config.Input, how string, err error) {
	if name != "" {
		for i := range cfg.Inputs {
			if cfg.Inputs[i].Name == name {
				return &cfg.Inputs[i], "--input", nil
			}
		}
		return nil, "", fmt.Errorf("no input named %q in %s", name, cfg.Path)
	}
	for i := range cfg.Inputs {
		if matchesInput(&cfg.Inputs[i], path) {
			return &cfg.Inputs[i], "its paths match", nil
		}
	}
	return &cfg.Inputs[0], "first input; no input's paths match", nil
}

func matchesInput(in *config.Input, path string) bool {
	for _, x := range in.Tailer.Exclude {
		if ok, _ := doublestar.PathMatch(x, path); ok {
			return false
		}
		if ok, _ := doublestar.PathMatch(x, filepath.Base(path)); ok {
			return false
		}
	}
	for _, p := range in.Tailer.Paths {
		if ok, _ := doublestar.PathMatch(p, path); ok {
			return true
		}
	}
	return false
}

// checkSample runs every line of the file at path through the pipeline of
// its input and prints one line per log line to w:
//
//	FILE:LINE: event {json}
//	FILE:LINE: skipped
//	FILE:LINE: dead-letter: REASON
//
// Lines are cut as the tailer cuts them (newline; trailing CR, leading NULs
// and BOM removed; blank lines not emitted), and each line's position
// (offset, the file's origin) is the one the agent would give it, so derived
// event ids are the agent's.
func checkSample(w io.Writer, cfg *config.Config, path, inputName string, st *sampleStats) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("sample %q: %w", path, err)
	}
	in, how, err := inputFor(cfg, abs, inputName)
	if err != nil {
		return err
	}
	f, err := os.Open(abs)
	if err != nil {
		return fmt.Errorf("open sample: %w", err)
	}
	defer f.Close()
	fmt.Fprintf(w, "%s: input %q (%s)\n", path, in.Name, how)

	origin, err := originOf(f)
	if err != nil {
		return err
	}
	r := bufio.NewReaderSize(f, 64<<10)
	var offset int64
	for n := 1; ; n++ {
		raw, rerr := r.ReadSlice('\n')
		full := raw
		for errors.Is(rerr, bufio.ErrBufferFull) {
			var more []byte
			more, rerr = r.ReadSlice('\n')
			full = append(bytes.Clone(full), more...)
		}
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return fmt.Errorf("read sample %q: %w", path, rerr)
		}
		if len(full) == 0 {
			break
		}
		start := offset
		offset += int64(len(full))
		line := bytes.TrimSuffix(full, []byte("\n"))
		over := len(line) > in.Tailer.MaxLineBytes
		if over {
			line = line[:in.Tailer.MaxLineBytes]
		} else {
			line = bytes.TrimSuffix(line, []byte("\r"))
		}
		line = bytes.TrimPrefix(bytes.TrimLeft(line, "\x00"), []byte("\xef\xbb\xbf"))
		if !over && len(bytes.Trim(line, " \t\r\v\f\x00")) == 0 {
			if rerr != nil {
				break
			}
			continue
		}
		if !bytes.HasSuffix(full, []byte("\n")) {
			when := "once it ends (flush_partial_after is 0)"
			if d := in.Tailer.FlushPartialAfter; d > 0 {
				when = fmt.Sprintf("once it ends, or when the file has been idle for flush_partial_after (%s)", d)
			}
			fmt.Fprintf(w, "%s:%d: no line end yet: the agent reads this line %s\n", path, n, when)
		}
		src := event.Position{Input: in.Name, Path: abs, Origin: origin, Offset: start, End: offset}
		e, out, reason := runLine(cfg, in, src, line, over)
		switch out {
		case outEvent:
			st.events++
			b, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("%s:%d: encode event: %w", path, n, err)
			}
			fmt.Fprintf(w, "%s:%d: event %s\n", path, n, b)
		case outSkipped:
			st.skipped++
			fmt.Fprintf(w, "%s:%d: skipped\n", path, n)
		case outDeadLetter:
			st.deadLettered++
			fmt.Fprintf(w, "%s:%d: dead-letter: %s\n", path, n, reason)
		}
		if rerr != nil {
			break
		}
	}
	return nil
}

// originOf returns the origin of the open file f as the tailer computes it:
// the hash of its first line, within its first 1024 bytes. f is left at
// offset 0.
func originOf(f *os.File) (uint64, error) {
	b := make([]byte, 1024)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("read sample %q: %w", f.Name(), err)
	}
	b = b[:n]
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	return event.OriginOf(b), nil
}
