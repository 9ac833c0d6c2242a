package deadletter

import (
	"bufio"
	"bytes"
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
// use. Write keeps records in memory; Sync appends them to the file and
// fsyncs it, and the agent calls it before it acknowledges the offsets of
// the lines they came from. A Sync that fails (a full disk, say) cuts the
// file back to its last synced size and keeps the records, so a later Sync
// writes them whole: the file never holds a torn record of this Writer.
type Writer struct {
	path     string
	maxBytes int64
	maxFiles int

	mu      sync.Mutex
	f       *os.File
	synced  int64  // bytes of the current file known to be on disk
	buf     []byte // records written since the last successful Sync
	count   int64
	dropped int64 // records deleted by rotation
	// seen[0] holds the keys of the lines in the current file and in buf,
	// seen[i] those of path.i: a line read again after a crash is not
	// recorded twice while its first record is kept.
	seen     []map[int64]struct{}
	repaired int64 // bytes of a torn last record cut off by Open
}

// Open opens (creating it and its directory if needed) the dead-letter file at
// path for appending. maxBytes ≤ 0 disables rotation; with rotation, up to
// maxFiles rotated files are kept (path.1 is the newest). A last record
// without its line end (the process died while writing it, before the
// lines it records were acknowledged) is cut off: see [Writer.Repaired].
func Open(path string, maxBytes int64, maxFiles int) (*Writer, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create dead-letter directory: %w", err)
	}
	w := &Writer{path: path, maxBytes: maxBytes, maxFiles: max(maxFiles, 0)}
	w.seen = make([]map[int64]struct{}, w.maxFiles+1)
	for i := range w.seen {
		w.seen[i] = map[int64]struct{}{}
		recs, err := ReadFile(w.name(i))
		var torn *TornError
		if errors.As(err, &torn) && i == 0 {
			if terr := os.Truncate(path, torn.Offset); terr != nil {
				return nil, fmt.Errorf("cut the torn last record of %q: %w", path, terr)
			}
			w.repaired, err = torn.Bytes, nil
		} else if errors.As(err, &torn) {
			err = nil // a rotated file is only read for its keys
		}
		if err != nil {
			return nil, err
		}
		for _, r := range recs {
			if k, ok := r.key(); ok {
				w.seen[i][k] = struct{}{}
			}
		}
	}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

// name returns the path of the current file (i = 0) or of rotated file i.
func (w *Writer) name(i int) string {
	if i == 0 {
		return w.path
	}
	return fmt.Sprintf("%s.%d", w.path, i)
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
	w.f, w.synced = f, st.Size()
	return nil
}

// Write adds one record; [Writer.Sync] makes it durable. A record of a line
// already recorded in a kept file is not added again. Write fails only when
// the record cannot be encoded.
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
	if hasKey && w.has(k) {
		return nil
	}
	if size := w.synced + int64(len(w.buf)); w.maxBytes > 0 && size > 0 && size+int64(len(b)) > w.maxBytes {
		// A failed rotation leaves the records in buf for the current
		// file; the next Write tries again.
		_ = w.rotate()
	}
	w.buf = append(w.buf, b...)
	w.count++
	if hasKey {
		w.seen[0][k] = struct{}{}
	}
	return nil
}

func (w *Writer) has(k int64) bool {
	for _, s := range w.seen {
		if _, ok := s[k]; ok {
			return true
		}
	}
	return false
}

// Count returns how many records this Writer has written.
func (w *Writer) Count() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count
}

// Dropped returns how many records rotation has deleted since Open: those
// of the oldest rotated file each time a rotation goes past maxFiles.
func (w *Writer) Dropped() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.dropped
}

// Repaired returns how many bytes of a torn last record Open cut off the
// file; 0 when the file ended with a whole record.
func (w *Writer) Repaired() int64 { return w.repaired }

// rotate syncs the current file, then shifts path.i to path.i+1 (deleting
// the oldest past maxFiles) and path to path.1, and opens a new path. With
// maxFiles 0 the current file is emptied instead.
func (w *Writer) rotate() error {
	if err := w.syncLocked(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close dead-letter file %q: %w", w.path, err)
	}
	w.dropped += int64(len(w.seen[len(w.seen)-1]))
	if w.maxFiles > 0 {
		for i := w.maxFiles - 1; i >= 1; i-- {
			_ = os.Rename(w.name(i), w.name(i+1))
		}
		if err := os.Rename(w.path, w.name(1)); err != nil {
			return fmt.Errorf("rotate dead-letter file %q: %w", w.path, err)
		}
	} else if err := os.Truncate(w.path, 0); err != nil {
		return fmt.Errorf("truncate dead-letter file %q: %w", w.path, err)
	}
	copy(w.seen[1:], w.seen[:len(w.seen)-1])
	w.seen[0] = map[int64]struct{}{}
	return w.open()
}

// Sync appends the records written since the last successful Sync to the
// file and fsyncs it. It does nothing when there are none. When it fails,
// the file is cut back to what the last successful Sync left, and the
// records stay for the next Sync.
func (w *Writer) Sync() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.syncLocked()
}

func (w *Writer) syncLocked() error {
	if len(w.buf) == 0 {
		return nil // nothing written since the last sync: no fsync per batch
	}
	if w.f == nil {
		if err := w.open(); err != nil {
			return err
		}
	}
	_, err := w.f.Write(w.buf)
	if err == nil {
		err = w.f.Sync()
	}
	if err != nil {
		// What reached the file may be a torn record: cut it off and
		// write the records again next time, from a new descriptor.
		_ = w.f.Truncate(w.synced)
		_ = w.f.Close()
		w.f = nil
		return fmt.Errorf("write dead-letter file %q: %w", w.path, err)
	}
	w.synced += int64(len(w.buf))
	if cap(w.buf) > 1<<20 {
		w.buf = nil // keep a usual buffer, not an outlier's
	}
	w.buf = w.buf[:0]
	return nil
}

// Close syncs and closes the file.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	err := w.syncLocked()
	if w.f != nil {
		err = errors.Join(err, w.f.Close())
		w.f = nil
	}
	return err
}

// TornError reports a last line of a dead-letter file that is not a whole
// record: it has no line end and does not decode, as when the writer died
// mid-write. The records before it were read.
type TornError struct {
	Name   string // the file
	Line   int    // 1-based line number of the torn record
	Offset int64  // byte offset where it starts: the file's whole records end here
	Bytes  int64  // its length
}

func (e *TornError) Error() string {
	return fmt.Sprintf("%s:%d: torn last record (%d bytes at offset %d, no line end)", e.Name, e.Line, e.Bytes, e.Offset)
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

// Read decodes records from r; name is used in errors. A last line without
// a line end that does not decode gives the records before it and a
// *[TornError].
func Read(r io.Reader, name string) ([]Record, error) {
	var out []Record
	br := bufio.NewReaderSize(r, 64<<10)
	n := 0
	var off int64
	for {
		line, err := readLine(br)
		if len(line) > 0 {
			n++
			whole := line[len(line)-1] == '\n'
			body := bytes.TrimSuffix(line, []byte("\n"))
			if len(bytes.TrimSpace(body)) > 0 {
				var rec Record
				if jerr := json.Unmarshal(body, &rec); jerr != nil {
					if !whole {
						return out, &TornError{Name: name, Line: n, Offset: off, Bytes: int64(len(line))}
					}
					return out, fmt.Errorf("%s:%d: decode dead-letter record: %w", name, n, jerr)
				}
				out = append(out, rec)
			}
			off += int64(len(line))
		}
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, fmt.Errorf("read dead-letter file %q: %w", name, err)
		}
	}
}

// maxRecord bounds one record's line: the agent's lines are at most
// max_line_bytes (1 MiB by default), and a record holds one.
const maxRecord = 64 << 20

// readLine returns the next line with its '\n', or what is left before the
// end; io.EOF once nothing is left.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		part, err := br.ReadSlice('\n')
		line = append(line, part...)
		switch {
		case errors.Is(err, bufio.ErrBufferFull) && len(line) <= maxRecord:
			continue
		case errors.Is(err, bufio.ErrBufferFull):
			return nil, fmt.Errorf("a record longer than %d bytes", maxRecord)
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, nil
		}
		return line, err
	}
}
