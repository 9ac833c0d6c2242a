package file

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
)

// ErrClosed is returned by Write on an Output that is not open (before Open
// or after Close).
var ErrClosed = errors.New("file output not open")

// Output appends events to a file as NDJSON. Create it with [New] and call
// [Output.Open] before the first Write.
type Output struct {
	path  string
	fsync bool
	log   *slog.Logger

	mu      sync.Mutex
	f       *os.File
	regular bool   // f is a regular file: fsync and truncate-on-failure apply
	size    int64  // bytes in f when regular: where the next batch starts
	buf     []byte // encoding buffer, reused across Writes
}

// New returns an Output for c. A relative c.Path is joined to dataDir. New
// does no I/O; c must have passed [Config.Validate].
func New(c Config, dataDir string, log *slog.Logger) (*Output, error) {
	if c.Path == "" {
		return nil, errors.New("file output: empty path")
	}
	p := c.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(dataDir, p)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Output{
		path:  p,
		fsync: c.Fsync,
		log:   log.With("component", "output", "output_type", "file", "path", p),
	}, nil
}

// Path returns the file the Output appends to.
func (o *Output) Path() string { return o.path }

// Open creates the file (and its directory) if needed and opens it for
// appending. It is called once, before the first Write.
func (o *Output) Open(_ context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f != nil {
		return fmt.Errorf("open %q: already open", o.path)
	}
	if err := os.MkdirAll(filepath.Dir(o.path), 0o750); err != nil {
		return fmt.Errorf("open %q: %w", o.path, err)
	}
	f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("open %q: %w", o.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return fmt.Errorf("open %q: %w", o.path, err)
	}
	o.f, o.regular, o.size = f, st.Mode().IsRegular(), st.Size()
	o.log.Info("file output opened")
	return nil
}

// Write appends batch, one JSON line per event, with a single write call,
// and fsyncs the file when configured. It returns nil when the whole batch is
// written (and synced). An event whose details cannot be encoded as JSON is
// left out and reported, not retryable, in a *[outputs.BatchError]; the rest
// of the batch is written. Any other error means nothing of the batch is left
// in the file and the whole batch may be retried. ctx is checked before
// writing; a write in progress is not interrupted.
func (o *Output) Write(ctx context.Context, batch []event.Event) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var rejected []outputs.ItemError
	buf := o.buf[:0]
	for i := range batch {
		start := len(buf)
		var err error
		if buf, err = appendEvent(buf, &batch[i]); err != nil {
			buf = buf[:start]
			rejected = append(rejected, outputs.ItemError{Index: i, Reason: "encode event: " + err.Error()})
			continue
		}
		buf = append(buf, '\n')
	}
	o.buf = buf
	if len(buf) == 0 {
		return batchErr(rejected)
	}
	if _, err := o.f.Write(buf); err != nil {
		o.undo()
		return fmt.Errorf("write %q: %w", o.path, err)
	}
	if o.regular && o.fsync {
		if err := o.f.Sync(); err != nil {
			o.undo()
			return fmt.Errorf("sync %q: %w", o.path, err)
		}
	}
	if o.regular {
		o.size += int64(len(buf))
	}
	// Keep the buffer for the next batch unless one huge batch grew it.
	if cap(o.buf) > 16<<20 {
		o.buf = nil
	}
	return batchErr(rejected)
}

// batchErr returns nil for no rejected items, else a *outputs.BatchError.
func batchErr(items []outputs.ItemError) error {
	if len(items) == 0 {
		return nil
	}
	return &outputs.BatchError{Items: items}
}

// undo truncates a regular file back to where the failed batch started, so
// that a retry leaves no torn or duplicate lines.
func (o *Output) undo() {
	if !o.regular {
		return
	}
	if err := o.f.Truncate(o.size); err != nil {
		o.log.Error("truncate after failed write", "offset", o.size, "error", err)
	}
}

// Close syncs and closes the file. Later Writes return [ErrClosed]. Closing
// an Output that is not open does nothing.
func (o *Output) Close(_ context.Context) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.f == nil {
		return nil
	}
	var err error
	if o.regular {
		err = o.f.Sync()
	}
	err = errors.Join(err, o.f.Close())
	o.f = nil
	if err != nil {
		return fmt.Errorf("close %q: %w", o.path, err)
	}
	return nil
}
