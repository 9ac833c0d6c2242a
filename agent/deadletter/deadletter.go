package deadletter

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/auditship/auditship/event"
)

// Record is one dead-lettered line.
type Record struct {
	Time       time.Time `json:"time"`
	Input      string    `json:"input"`
	Path       string    `json:"path"`
	Offset     int64     `json:"offset"`
	Origin     uint64    `json:"origin,omitempty"` // event.Position.Origin, so a replay derives the same event_id; 0 in older records
	Reason     string    `json:"reason"`
	Line       string    `json:"line,omitempty"`
	LineBase64 string    `json:"line_base64,omitempty"`
}

// Raw returns the line's bytes, decoding line_base64 when set.
func (r Record) Raw() ([]byte, error) {
	if r.LineBase64 != "" {
		return base64.StdEncoding.DecodeString(r.LineBase64)
	}
	return []byte(r.Line), nil
}

// NewRecord builds the record of a rejected line read at src.
func NewRecord(src event.Position, line []byte, reason string, now time.Time) Record {
	r := Record{Time: now.UTC(), Input: src.Input, Path: src.Path, Offset: src.Offset, Origin: src.Origin, Reason: reason}
	if utf8.Valid(line) {
		r.Line = string(line)
	} else {
		r.LineBase64 = base64.StdEncoding.EncodeToString(line)
	}
	return r
}

// Writer appends records to the dead-letter file. It is safe for concurrent
// use. Records are buffered; Sync makes them durable, and the agent calls it
// before it acknowledges the offsets of the lines they came from.
type Writer struct {
	path     string
	maxBytes int64
	maxFiles int

	mu    sync.Mutex
	f     *os.File
	w     *bufio.Writer
	size  int64
	count int64
	seen  map[int64]struct{} // keys of the lines in the current file
	dirty bool               // written to since the last sync: Sync has work to do
}

// Open opens (creating it and its directory if needed) the dead-letter file at
// path for appending. maxBytes ≤ 0 disables rotation.
func Open(path string, maxBytes int64, maxFiles int) (*Writer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create dead-letter directory: %w", err)
	}
	w := &Writer{path: path, maxBytes: maxBytes, maxFiles: maxFiles, seen: map[int64]struct{}{}}
	recs, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	for _, r := range recs {
		if k, ok := r.key(); ok {
			w.seen[k] = struct{}{}
		}
	}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

// key identifies the source line of a record: the event id the line would
// derive (file origin, offset, bytes). A line read again after a crash, or
// from a rotated copy, has the same key.
func (r Record) key() (int64, bool) {
	raw, err := r.Raw()
	if err != nil {
		return 0, false
	}
	return event.DeriveID(r.Origin, r.Offset, raw), true
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open dead-letter file %q: %w", w.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("stat dead-letter file %q: %w", w.path, err)
	}
	w.f, w.w, w.size = f, bufio.NewWriterSize(f, 64<<10), st.Size()
	return nil
}

// Write appends one record.
func (w *Writer) Write(r Record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode dead-letter record: %w", err)
	}
	b = append(b, '\n')
	w.mu.Lock()
	defer w.mu.Unlock()
	// The agent reads a line again when it stopped before acknowledging
	// it: its record is already here, so it is not written twice.
	k, hasKey := r.key()
	if _, dup := w.seen[k]; hasKey && dup {
		return nil
	}
	if w.maxBytes > 0 && w.size > 0 && w.size+int64(len(b)) > w.maxBytes {
		if err := w.rotate(); err != nil {
			w.dirty = true // Sync must fail too: this record is not written
			return err
		}
	}
	w.dirty = true // even if the write fails: Sync must report it
	if _, err := w.w.Write(b); err != nil {
		return fmt.Errorf("write dead-letter file %q: %w", w.path, err)
	}
	w.size += int64(len(b))
	w.count++
	if hasKey {
		w.seen[k] = struct{}{}
	}
	return nil
}

// Count returns how many records this Writer has written.
func (w *Writer) Count() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count
}

func (w *Writer) rotate() error {
	if err := w.syncLocked(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close dead-letter file %q: %w", w.path, err)
	}
	for i := w.maxFiles - 1; i >= 1; i-- {
		_ = os.Rename(fmt.Sprintf("%s.%d", w.path, i), fmt.Sprintf("%s.%d", w.path, i+1))
	}
	w.seen = map[int64]struct{}{} // rotated records are no longer checked
	if w.maxFiles > 0 {
		if err := os.Rename(w.path, w.path+".1"); err != nil {
			return fmt.Errorf("rotate dead-letter file %q: %w", w.path, err)
		}
	} else if err := os.Truncate(w.path, 0); err != nil {
		return fmt.Errorf("truncate dead-letter file %q: %w", w.path, err)
	}
	return w.open()
}

// Sync flushes buffered records and fsyncs the file. It does nothing when
// no record was written since the last successful Sync; after a failed
// Write it fails too, until a sync succeeds.
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.syncLocked()
}

func (w *Writer) syncLocked() error {
	if !w.dirty {
		return nil // nothing written since the last sync: no fsync per batch
	}
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("flush dead-letter file %q: %w", w.path, err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("sync dead-letter file %q: %w", w.path, err)
	}
	w.dirty = false
	return nil
}

// Close syncs and closes the file.
func (w *Writer) Close() error {
	err := w.Sync()
	w.mu.Lock()
	defer w.mu.Unlock()
	return errors.Join(err, w.f.Close())
}

// ReadFile reads every record of a dead-letter file. A missing file gives no
// records and no error.
func ReadFile(path string) ([]Record, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open dead-letter file %q: %w", path, err)
	}
	defer f.Close()
	return Read(f, path)
}

// Read decodes records from r; name is used in errors.
func Read(r io.Reader, name string) ([]Record, error) {
	var out []Record
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return out, fmt.Errorf("%s:%d: decode dead-letter record: %w", name, n, err)
		}
		out = append(out, rec)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("read dead-letter file %q: %w", name, err)
	}
	return out, nil
}
