package tailer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/fsnotify/fsnotify"

	"github.com/auditship/auditship/agent/registry"
	"github.com/auditship/auditship/event"
)

// MaxFingerprintBytes is the most bytes ever hashed into a fingerprint; it matches
// the 1024 bytes [event.OriginOf] uses.
const MaxFingerprintBytes = 1024

// readChunk is the size of one read(2); passBudget bounds the bytes read from
// one file before the others get their turn.
const (
	readChunk  = 64 << 10
	passBudget = 256 << 10
)

// ChunkLines and ChunkBytes bound one send of a [Tailer]: lines are handed
// to the pipeline in slices of at most ChunkLines lines (or
// Config.ChunkLines, when lower) whose texts total at
// most ChunkBytes bytes (or one line, when that line alone is longer), so
// that the hand-off costs one channel operation and one allocation per
// chunk rather than per line. A chunk is also sent whenever the tailer has
// nothing more to read, so chunking adds no latency.
const (
	ChunkLines = 512
	ChunkBytes = 64 << 10
)

// tailBytes is how many bytes before the read offset a file keeps, to notice
// a truncation followed by a rewrite that leaves the fingerprinted first
// bytes as they were but changes what precedes the offset.
const tailBytes = 32

// fdReserve is how many file descriptors below RLIMIT_NOFILE a tailer leaves
// for the store, the registry, the dead-letter file and the network.
const fdReserve = 64

// ready is always ready to receive from.
var ready = func() <-chan time.Time {
	c := make(chan time.Time)
	close(c)
	return c
}()

// Config says which files a [Tailer] reads and how.
type Config struct {
	// Paths are glob patterns of the files to read; `**` matches any number
	// of directories. Symlinks are followed.
	Paths []string
	// Exclude are glob patterns matched against a candidate's full path and
	// its base name, e.g. "*.gz". A match drops the candidate.
	Exclude []string
	// StartAt is "beginning" (default) or "end". It applies only to files
	// found by the first scan that the registry has never seen; files that
	// appear later are always read from their start so that rotation loses
	// nothing.
	StartAt string
	// MaxLineBytes is the longest line kept, in bytes (default 1 MiB).
	// Longer lines are emitted with [Line.Oversize] and their first
	// MaxLineBytes bytes.
	MaxLineBytes int
	// ScanInterval is how often the globs are expanded and open files are
	// polled for growth, truncation and deletion (default 1s). fsnotify
	// events only make this happen sooner.
	ScanInterval time.Duration
	// CloseInactive closes a file handle that delivered no data for this long
	// (default 5m). A file still matched by Paths is reopened when it grows;
	// one rotated to an unmatched name while closed is found again in its
	// directory when it has unread bytes (see the package doc).
	CloseInactive time.Duration
	// MaxOpenFiles bounds the open file handles (default 512). It is lowered
	// to the process's open file limit (RLIMIT_NOFILE) less 64 handles kept
	// for the rest of the agent. While matched files wait for a handle,
	// handles of files read to their end are closed to make room; such a
	// file is reopened when it grows.
	MaxOpenFiles int
	// FlushPartialAfter, when > 0, emits a final line that has no newline
	// once the file was idle this long, with [Line.Partial] set. 0 (default)
	// waits for the newline forever.
	FlushPartialAfter time.Duration
	// FingerprintBytes is how many first bytes of a file form its
	// fingerprint (default and maximum 1024).
	FingerprintBytes int
	// Once makes Run read every matched file to its current end and return.
	Once bool
	// ChunkLines is the most lines Run sends at once (default and maximum
	// [ChunkLines]); the agent lowers it when the queue is small.
	ChunkLines int
	// ClaimedBy, when set, names the input that reads the file at path
	// instead of this one, or returns "" when this one may. The agent gives
	// a file that several inputs' globs match to the first of them in the
	// config, so that no file is read twice (each reading would map every
	// line again, into events with the same event_id). A file claimed
	// elsewhere is skipped, with a warning once per path. It is called from
	// Run's goroutine and must be safe for concurrent use.
	ClaimedBy func(path string) string
	// Owners, when set, is shared by the tailers of every input of an
	// agent: a file (device and inode) one of them reads is not opened by
	// another, whatever its name now (see [Owners]).
	Owners *Owners
}

// Owners records which input reads each file, by device and inode, so that
// the tailers of several inputs never read one file at once: a file renamed
// into another input's globs, or whose globs a reload gives to another
// input, stays with the input reading it until that input lets it go (the
// file is deleted, closed after CloseInactive once no glob of its reader
// matches it, or the input stops). A stopped input's files are let go only
// once the registry acknowledges every line it sent of them, so that the
// next reader does not read its lines in flight again. The zero value is
// ready to use; it is safe for concurrent use.
type Owners struct {
	mu sync.Mutex
	m  map[fileKey]owner
}

// owner is the input reading a file; after that input stopped, until the
// registry's offset of fileID reaches end, the file stays its.
type owner struct {
	input   string
	stopped bool
	fileID  string
	end     int64
}

// acquire makes input the reader of k unless another input is; it returns
// that other input, or "". reg tells whether a stopped input's lines of the
// file are all acknowledged.
func (o *Owners) acquire(k fileKey, input string, reg *registry.Registry) string {
	if o == nil {
		return ""
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if cur, ok := o.m[k]; ok && cur.input != input {
		if !cur.stopped {
			return cur.input
		}
		if e, ok := reg.Get(cur.fileID); ok && e.Offset < cur.end {
			return cur.input // its lines in flight are not all delivered yet
		}
	}
	if o.m == nil {
		o.m = map[fileKey]owner{}
	}
	o.m[k] = owner{input: input}
	return ""
}

// release lets other inputs read k, if input was its reader.
func (o *Owners) release(k fileKey, input string) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m[k].input == input {
		delete(o.m, k)
	}
}

// stop lets other inputs read k once the registry's offset of fileID reaches
// end (the end of the last line input sent of it), if input was its reader.
func (o *Owners) stop(k fileKey, input, fileID string, end int64) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.m[k].input == input {
		o.m[k] = owner{input: input, stopped: true, fileID: fileID, end: end}
	}
}

// Matches reports whether path is one this configuration reads: a glob of
// Paths matches it and no pattern of Exclude drops it. path is matched as
// written (a symlink and its target are different paths).
func (c *Config) Matches(path string) bool {
	for _, pat := range c.Paths {
		if ok, _ := doublestar.PathMatch(pat, path); ok {
			return !excludedBy(c.Exclude, path)
		}
	}
	return false
}

// DefaultConfig returns the defaults documented on [Config].
func DefaultConfig() Config {
	return Config{
		StartAt:          "beginning",
		MaxLineBytes:     1 << 20,
		ScanInterval:     time.Second,
		CloseInactive:    5 * time.Minute,
		MaxOpenFiles:     512,
		FingerprintBytes: MaxFingerprintBytes,
	}
}

// Line is one line read from a file.
type Line struct {
	Source   event.Position // where the line is; Source.End is what to ack
	Text     []byte         // without newline, trailing CR, leading BOM and NULs; owned by the receiver; the tailer never writes to it again once sent
	Oversize bool           // the line was longer than MaxLineBytes; Text holds its first MaxLineBytes bytes
	Partial  bool           // emitted by FlushPartialAfter without a newline
}

// Tailer reads the files matched by one input's globs and sends their lines,
// in order per file, to a channel. It is not safe for concurrent use: call
// Run once.
type Tailer struct {
	input string
	cfg   Config
	reg   *registry.Registry
	log   *slog.Logger

	noWatch  bool              // tests under testing/synctest cannot block in epoll
	statHook func(os.FileInfo) // tests: called after an open file was stat'ed at its end, before the result is used

	files   map[fileKey]*file
	open    int
	maxOpen int          // MaxOpenFiles, lowered to fit RLIMIT_NOFILE or after EMFILE
	fdFull  bool         // an open failed for lack of file descriptors; warned once
	nOpen   atomic.Int64 // open, for OpenFiles from other goroutines
	buf     []byte
	scanned bool // the first scan happened: StartAt no longer applies

	chunk    []Line // lines not yet sent; their texts are in arena
	arena    []byte // backing store of the chunk's texts; owned by the receiver once sent
	lastSent int    // lines in the last chunk sent, to size the next one

	// searched remembers, per registry FileID, what its recorded path held
	// when the directory was last searched for the rotated file, so that
	// a drained or vanished file is searched for once per rotation.
	searched map[string]fileKey

	// claimed are the matched paths that another input reads (see
	// Config.ClaimedBy), each warned about once; busy the files another
	// input's tailer holds (see Owners), each warned about once.
	claimed map[string]bool
	busy    map[fileKey]bool

	// sent is, per registry FileID, the end of the last line sent (see
	// Owners.stop); kept only when Config.Owners is set.
	sent map[string]int64
}

type fileKey struct{ dev, ino uint64 }

// file is the reading state of one inode.
type file struct {
	key       fileKey
	id        string // registry FileID of the current content
	path      string
	regPath   string   // the path the registry records: one the globs match, also after rotation (see openRotated)
	f         *os.File // nil while closed
	pos       int64    // next byte to read
	lineStart int64    // offset of the first byte of pending
	pending   []byte   // the incomplete line, at most MaxLineBytes bytes
	over      bool     // the pending line exceeded MaxLineBytes; the rest is discarded
	origin    uint64
	hasOrigin bool
	fp        string // fingerprint of the first fpLen bytes
	fpLen     int
	head      []byte          // the first fpLen bytes while fpLen < FingerprintBytes, to extend fp as reading passes them; nil once full
	tail      [tailBytes]byte // tail[:tailLen] are the bytes just before pos, as read
	tailLen   int
	lastData  time.Time // when data was last read (or the file opened)
	size      int64     // size at the last stat
	mtime     time.Time // mtime at the last stat
	atEOF     bool      // the last read hit the end: stat before reading again
	gone      bool      // no longer matched by the globs: rotated away, deleted or retargeted
	done      bool      // Once: read to its end
}

// New validates cfg (zero fields take their defaults) and returns a Tailer
// for the input named input. It does no I/O and starts no goroutines.
func New(input string, cfg Config, reg *registry.Registry, log *slog.Logger) (*Tailer, error) {
	d := DefaultConfig()
	if cfg.StartAt == "" {
		cfg.StartAt = d.StartAt
	}
	if cfg.MaxLineBytes == 0 {
		cfg.MaxLineBytes = d.MaxLineBytes
	}
	if cfg.ChunkLines <= 0 || cfg.ChunkLines > ChunkLines {
		cfg.ChunkLines = ChunkLines
	}
	if cfg.ScanInterval == 0 {
		cfg.ScanInterval = d.ScanInterval
	}
	if cfg.CloseInactive == 0 {
		cfg.CloseInactive = d.CloseInactive
	}
	if cfg.MaxOpenFiles == 0 {
		cfg.MaxOpenFiles = d.MaxOpenFiles
	}
	if cfg.FingerprintBytes == 0 {
		cfg.FingerprintBytes = d.FingerprintBytes
	}
	var errs []error
	if reg == nil {
		errs = append(errs, errors.New("registry is nil"))
	}
	if len(cfg.Paths) == 0 {
		errs = append(errs, errors.New("no paths"))
	}
	for _, p := range append(slices.Clone(cfg.Paths), cfg.Exclude...) {
		if !doublestar.ValidatePathPattern(p) {
			errs = append(errs, fmt.Errorf("invalid glob %q", p))
		}
	}
	if cfg.StartAt != "beginning" && cfg.StartAt != "end" {
		errs = append(errs, fmt.Errorf("invalid start_at %q: want \"beginning\" or \"end\"", cfg.StartAt))
	}
	if cfg.MaxLineBytes < 0 || cfg.ScanInterval < 0 || cfg.CloseInactive < 0 || cfg.MaxOpenFiles < 0 || cfg.FlushPartialAfter < 0 {
		errs = append(errs, errors.New("negative size, count or duration"))
	}
	if cfg.FingerprintBytes < 0 || cfg.FingerprintBytes > MaxFingerprintBytes {
		errs = append(errs, fmt.Errorf("invalid fingerprint bytes %d: want 1 to %d", cfg.FingerprintBytes, MaxFingerprintBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("new tailer %q: %w", input, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Tailer{
		input:    input,
		cfg:      cfg,
		reg:      reg,
		log:      log.With("component", "tailer", "input", input),
		files:    map[fileKey]*file{},
		searched: map[string]fileKey{},
	}, nil
}

// Run reads the matched files and sends their lines to out in chunks (see
// [ChunkLines]), in order per file, blocking while out is full: that is the
// backpressure, reading pauses. Every line read is sent before Run waits for
// more data. The receiver owns each chunk and the texts of its lines. It returns nil when
// ctx ends or, with Config.Once, when every matched file was read to its
// current end; an error only when fsnotify cannot be set up. Run closes
// every file it opened before returning; it does not close out.
func (t *Tailer) Run(ctx context.Context, out chan<- []Line) error {
	t.buf = make([]byte, readChunk)
	defer t.closeAll()
	t.maxOpen = t.cfg.MaxOpenFiles
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err == nil && rl.Cur < uint64(t.maxOpen+fdReserve) {
		t.maxOpen = max(1, int(rl.Cur)-fdReserve) //nolint:gosec // rl.Cur is small here
		t.log.Warn("max_open_files lowered to fit the open file limit", "max_open_files", t.maxOpen, "limit", rl.Cur)
	}

	var events <-chan fsnotify.Event
	var werrs <-chan error
	var w *fsnotify.Watcher
	if !t.noWatch && !t.cfg.Once {
		var err error
		w, err = fsnotify.NewWatcher()
		if err != nil {
			return fmt.Errorf("tailer %q: watch: %w", t.input, err)
		}
		defer w.Close()
		events, werrs = w.Events, w.Errors
	}
	watched := map[string]bool{}

	t.scan(w, watched)
	tick := time.NewTicker(t.cfg.ScanInterval)
	defer tick.Stop()
	for {
		progressed, err := t.readAll(ctx, out)
		if err == nil {
			err = t.flush(ctx, out)
		}
		if err != nil || ctx.Err() != nil {
			return nil // only ctx ends a send
		}
		if t.cfg.Once && !progressed {
			if t.open == 0 && t.scan(w, watched) == 0 {
				return nil
			}
			continue
		}
		// After progress, only look whether a scan is due, so that a busy
		// file does not hide new ones; otherwise wait for a tick or a hint.
		var busy <-chan time.Time
		if progressed {
			busy = ready
		}
		select {
		case <-ctx.Done():
			return nil
		case <-busy:
		case <-tick.C:
			t.scan(w, watched)
		case ev, ok := <-events:
			if !ok {
				events = nil
				break
			}
			if ev.Op&(fsnotify.Remove|fsnotify.Rename) != 0 && watched[ev.Name] {
				delete(watched, ev.Name) // the watch is gone with the directory
			}
			if ev.Op&(fsnotify.Create|fsnotify.Rename|fsnotify.Remove) != 0 {
				t.scan(w, watched)
			}
		case err, ok := <-werrs:
			if !ok {
				werrs = nil
			} else {
				t.log.Debug("watch error", "error", err)
			}
		}
	}
}

// OpenFiles returns how many file handles the tailer holds open right now.
// It is safe to call from any goroutine while Run runs.
func (t *Tailer) OpenFiles() int { return int(t.nOpen.Load()) }

func (t *Tailer) closeAll() {
	for k, st := range t.files {
		t.closeFile(st)
		if end, ok := t.sent[st.id]; ok {
			t.cfg.Owners.stop(k, t.input, st.id, end)
		} else {
			t.cfg.Owners.release(k, t.input)
		}
	}
}

// own reports whether this input may read the file k found at path: it
// already does, or no other input's tailer does (Config.Owners), which
// makes it this input's. It warns once per file held elsewhere.
func (t *Tailer) own(k fileKey, path string) bool {
	if _, ok := t.files[k]; ok {
		return true
	}
	owner := t.cfg.Owners.acquire(k, t.input, t.reg)
	if owner == "" {
		delete(t.busy, k)
		return true
	}
	if !t.busy[k] {
		if t.busy == nil {
			t.busy = map[fileKey]bool{}
		}
		t.busy[k] = true
		t.log.Warn("file is read by another input; left to it", "path", path, "read_by", owner)
	}
	return false
}

// forget closes st and drops it, letting other inputs read its file.
func (t *Tailer) forget(st *file) {
	t.closeFile(st)
	delete(t.files, st.key)
	delete(t.sent, st.id)
	t.cfg.Owners.release(st.key, t.input)
}

func (t *Tailer) closeFile(st *file) {
	if st.f != nil {
		st.f.Close()
		st.f = nil
		t.open--
		t.nOpen.Store(int64(t.open))
	}
}

func (t *Tailer) excluded(p string) bool { return excludedBy(t.cfg.Exclude, p) }

// excludedBy reports whether one of the exclude patterns drops p: matched
// against the full path or the base name.
func excludedBy(exclude []string, p string) bool {
	for _, x := range exclude {
		if ok, _ := doublestar.PathMatch(x, p); ok {
			return true
		}
		if ok, _ := doublestar.PathMatch(x, filepath.Base(p)); ok {
			return true
		}
	}
	return false
}

type found struct {
	path  string
	size  int64
	mtime time.Time
}

// scan expands the globs, opens new files, notices rotated-away and deleted
// ones and reopens closed files that changed. It returns how many files it
// opened.
func (t *Tailer) scan(w *fsnotify.Watcher, watched map[string]bool) int {
	seen := map[fileKey]found{}
	dirs := map[string]bool{}
	globbed := 0 // paths the globs matched, before exclude and claims
	for _, pat := range t.cfg.Paths {
		if base, _ := doublestar.SplitPattern(filepath.ToSlash(pat)); base != "" {
			dirs[filepath.FromSlash(base)] = true
		}
		matches, _ := doublestar.FilepathGlob(pat)
		globbed += len(matches)
		slices.Sort(matches)
		for _, p := range matches {
			if t.excluded(p) {
				continue
			}
			fi, err := os.Stat(p) // follows symlinks: link and target are one file
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			k := keyOf(fi)
			if t.claimedElsewhere(p, t.files[k] != nil) {
				continue
			}
			if _, dup := seen[k]; dup {
				continue
			}
			seen[k] = found{path: p, size: fi.Size(), mtime: fi.ModTime()}
			dirs[filepath.Dir(p)] = true
		}
	}
	if w != nil {
		for d := range dirs {
			if !watched[d] {
				if err := w.Add(d); err == nil {
					watched[d] = true
				}
			}
		}
	}

	opened, waiting := 0, 0
	keys := make([]fileKey, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b fileKey) int { return cmpKey(a, b) })
	for _, k := range keys {
		fd := seen[k]
		st := t.files[k]
		if st != nil {
			if st.path != fd.path {
				t.log.Info("file renamed", "path", fd.path, "old_path", st.path, "file_id", st.id)
			}
			st.path, st.regPath, st.gone = fd.path, fd.path, false
			t.reg.Touch(st.id, st.path)
			if st.f == nil && !st.done && (fd.size != st.size || !fd.mtime.Equal(st.mtime)) {
				switch {
				case t.open >= t.maxOpen:
					waiting++
				case t.reopen(st):
					opened++
				case t.fdFull:
					waiting++
				}
			}
			continue
		}
		if t.open >= t.maxOpen {
			waiting++ // found again by a later scan
			continue
		}
		if t.openNew(k, fd.path) {
			opened++
		} else if t.fdFull {
			waiting++
		}
	}
	opened += t.findRotated(seen)
	for k, st := range t.files {
		if _, ok := seen[k]; ok {
			continue
		}
		if st.f == nil {
			t.forget(st) // closed and no longer reachable by any path
			continue
		}
		if !st.gone {
			t.log.Info("file rotated away", "path", st.path, "file_id", st.id)
			st.gone = true
		}
		st.atEOF = true // re-stat: maybe deleted
	}
	if !t.scanned && globbed == 0 {
		// A relative glob is resolved against the config file's
		// directory: say so early rather than tail nothing in silence.
		t.log.Warn("no file matches the input's paths yet", "paths", t.cfg.Paths)
	}
	t.scanned = true
	if waiting > 0 || t.open > t.maxOpen {
		t.evictIdle(waiting)
	}
	return opened
}

// findRotated drains known files that were rotated to a name the globs do
// not match (or that Exclude drops) while they were not open: while the
// agent was stopped, or after CloseInactive closed them. For every registry
// entry whose recorded Path matches this input's globs, whose file is not
// open and whose Path now holds another file or nothing, it searches the
// directory of Path for the entry's device and inode; when found with the
// same fingerprint and bytes beyond the entry's offset, the file is opened
// under the same FileID and read like a renamed file. Each entry is searched
// once per change of what its Path holds. It returns how many files it
// opened.
func (t *Tailer) findRotated(seen map[fileKey]found) int {
	opened := 0
	for _, e := range t.reg.Entries() {
		k := fileKey{dev: e.Device, ino: e.Inode}
		if _, ok := seen[k]; ok {
			continue
		}
		if st := t.files[k]; st != nil && st.f != nil {
			continue
		}
		if !t.owns(e.Path) || t.excluded(e.Path) || t.claimedElsewhere(e.Path, false) {
			continue
		}
		var occ fileKey // the zero key: nothing at Path
		if fi, err := os.Stat(e.Path); err == nil {
			occ = keyOf(fi)
		}
		if occ == k {
			continue // still there, just not matched as a regular file
		}
		if m, ok := t.searched[e.FileID]; ok && m == occ {
			continue
		}
		if t.open >= t.maxOpen {
			continue // search again at a later scan
		}
		t.searched[e.FileID] = occ
		if t.openRotated(e, k) {
			opened++
		}
	}
	for id := range t.searched {
		if _, ok := t.reg.Get(id); !ok {
			delete(t.searched, id)
		}
	}
	return opened
}

// claimedElsewhere reports whether the file at p is another input's by the
// config's order (see Config.ClaimedBy), and warns the first time it is for
// p. reading: this input reads the file already, and goes on until it lets
// it go (see Owners).
func (t *Tailer) claimedElsewhere(p string, reading bool) bool {
	if t.cfg.ClaimedBy == nil {
		return false
	}
	owner := t.cfg.ClaimedBy(p)
	if owner == "" {
		return false
	}
	if !t.claimed[p] {
		if t.claimed == nil {
			t.claimed = map[string]bool{}
		}
		t.claimed[p] = true
		if reading {
			t.log.Warn("file now matched by an earlier input; read on until it is inactive or deleted", "path", p, "earlier_input", owner)
		} else {
			t.log.Warn("file matched by an earlier input is left to it", "path", p, "read_by", owner)
		}
	}
	return true
}

// owns reports whether p matches one of the input's globs.
func (t *Tailer) owns(p string) bool {
	for _, pat := range t.cfg.Paths {
		if ok, _ := doublestar.PathMatch(pat, p); ok {
			return true
		}
	}
	return false
}

// openRotated looks for the file of e, known by k, in the directory of its
// recorded path and opens it when it has unread bytes.
func (t *Tailer) openRotated(e registry.Entry, k fileKey) bool {
	p := findInode(e.Path, k)
	if p == "" {
		t.log.Debug("rotated file not found", "old_path", e.Path, "file_id", e.FileID)
		return false
	}
	f, err := os.Open(p)
	if err != nil {
		if !t.outOfFDs(err) {
			t.log.Warn("open file", "path", p, "error", err)
		}
		delete(t.searched, e.FileID) // try again
		return false
	}
	fi, err := f.Stat()
	if err != nil || keyOf(fi) != k || e.FingerprintLen < 0 || int64(e.FingerprintLen) > fi.Size() {
		f.Close()
		return false
	}
	hb, err := head(f, int64(e.FingerprintLen))
	if err != nil || hash(hb) != e.Fingerprint {
		f.Close() // another content: not ours to read
		return false
	}
	st := t.files[k]
	if st == nil || st.id != e.FileID {
		st = &file{key: k, id: e.FileID, pos: e.Offset, lineStart: e.Offset, origin: e.Origin,
			hasOrigin: e.HasOrigin, fp: e.Fingerprint, fpLen: e.FingerprintLen, head: t.keepHead(hb)}
	}
	if fi.Size() <= st.pos {
		f.Close()
		return false // nothing unread
	}
	if !t.own(k, p) {
		f.Close()
		return false
	}
	st.f, st.path, st.gone, st.done, st.atEOF = f, p, true, false, true
	st.lastData, st.size, st.mtime = time.Now(), fi.Size(), fi.ModTime()
	if st.tailLen == 0 {
		st.loadTail(st.pos)
	}
	t.files[k] = st
	t.open++
	t.nOpen.Store(int64(t.open))
	// The registry keeps the path the globs match, not the rotated name:
	// should the agent stop before this file is read to its end, the next
	// start searches for it again from there (findRotated only looks at
	// paths this input owns).
	st.regPath = e.Path
	t.reg.Touch(st.id, e.Path)
	t.log.Info("rotated file found", "path", p, "old_path", e.Path, "file_id", st.id, "offset", st.pos)
	return true
}

// findInode returns the path of the regular file with key k in the directory
// of old, or "". Names starting with old's base name are tried first.
func findInode(old string, k fileKey) string {
	dir, base := filepath.Split(old)
	if dir == "" {
		dir = "."
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return ""
	}
	for _, prefixed := range []bool{true, false} {
		for _, de := range ents {
			if strings.HasPrefix(de.Name(), base) != prefixed || !de.Type().IsRegular() {
				continue
			}
			p := filepath.Join(dir, de.Name())
			if fi, err := os.Lstat(p); err == nil && keyOf(fi) == k {
				return p
			}
		}
	}
	return ""
}

// evictIdle closes up to n handles of files that are read to their end, the
// longest idle first, so that files waiting for a handle get one at the next
// scan; it also closes handles beyond maxOpen when it was lowered. A closed
// file keeps its state and is reopened when its size or mtime changes.
// Files rotated away (they would not be found again) and files holding a
// partial line are kept open.
func (t *Tailer) evictIdle(n int) {
	var idle []*file
	for _, st := range t.files {
		if st.f != nil && st.atEOF && !st.gone && !st.done && len(st.pending) == 0 && !st.over {
			idle = append(idle, st)
		}
	}
	slices.SortFunc(idle, func(a, b *file) int { return a.lastData.Compare(b.lastData) })
	for _, st := range idle {
		if n <= 0 && t.open <= t.maxOpen {
			return
		}
		fi, err := st.f.Stat()
		if err != nil || fi.Size() != st.pos || nlink(fi) == 0 {
			continue // unread data, or deleted: readFile deals with it
		}
		st.size, st.mtime = fi.Size(), fi.ModTime()
		t.log.Debug("file handle released for a waiting file", "path", st.path, "file_id", st.id)
		t.closeFile(st)
		n--
	}
}

func cmpKey(a, b fileKey) int {
	switch {
	case a.dev != b.dev:
		return cmpU(a.dev, b.dev)
	default:
		return cmpU(a.ino, b.ino)
	}
}

func cmpU(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func keyOf(fi os.FileInfo) fileKey {
	s, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileKey{}
	}
	return fileKey{dev: uint64(s.Dev), ino: uint64(s.Ino)} //nolint:unconvert // Dev is not uint64 everywhere
}

func nlink(fi os.FileInfo) uint64 {
	if s, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(s.Nlink) //nolint:unconvert // Nlink is not uint64 everywhere
	}
	return 1
}

// head reads the first n (at most MaxFingerprintBytes) bytes of f.
func head(f *os.File, n int64) ([]byte, error) {
	b := make([]byte, min(n, MaxFingerprintBytes))
	m, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b[:m], nil
}

func hash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// openNew opens a file seen for the first time in this run and finds where
// to resume it from the registry.
func (t *Tailer) openNew(k fileKey, path string) bool {
	f, err := os.Open(path)
	if err != nil {
		if t.outOfFDs(err) {
			return false
		}
		t.log.Warn("open file", "path", path, "error", err)
		return false
	}
	fi, err := f.Stat()
	if err != nil || keyOf(fi) != k {
		f.Close() // replaced between stat and open: the next scan sees it again
		return false
	}
	hb, err := head(f, min(fi.Size(), int64(t.cfg.FingerprintBytes)))
	if err != nil {
		f.Close()
		t.log.Warn("read file", "path", path, "error", err)
		return false
	}
	if !t.own(k, path) {
		f.Close()
		return false
	}
	st := &file{key: k, path: path, regPath: path, f: f, lastData: time.Now(), size: fi.Size(), mtime: fi.ModTime()}
	t.open++
	t.nOpen.Store(int64(t.open))
	e, known := t.reg.Find(k.dev, k.ino)
	switch {
	case known && e.FingerprintLen >= 0 && e.FingerprintLen <= len(hb) && hash(hb[:e.FingerprintLen]) == e.Fingerprint && e.Offset <= fi.Size() &&
		t.resumable(st, e):
		st.id, st.pos, st.origin, st.hasOrigin = e.FileID, e.Offset, e.Origin, e.HasOrigin
		// The first read goes through readFile's checks, so that a
		// truncation between these checks and that read is noticed.
		st.atEOF = true
		st.fp, st.fpLen = e.Fingerprint, e.FingerprintLen
		st.head = t.keepHead(hb[:e.FingerprintLen])
		t.extendFingerprint(st, hb)
		t.reg.Touch(st.id, path)
		t.log.Info("file opened", "path", path, "file_id", st.id, "offset", st.pos)
	default:
		var off int64
		if !known && !t.scanned && t.cfg.StartAt == "end" {
			off = fi.Size()
		}
		if known {
			t.log.Info("file content replaced", "path", path, "old_file_id", e.FileID)
		}
		st.id = registry.NewFileID(k.dev, k.ino)
		st.pos = off
		st.loadTail(st.pos)
		st.fp, st.fpLen, st.head = hash(hb), len(hb), t.keepHead(hb)
		t.reg.Put(registry.Entry{FileID: st.id, Path: path, Device: k.dev, Inode: k.ino,
			Fingerprint: st.fp, FingerprintLen: st.fpLen, Offset: off})
		t.log.Info("file opened", "path", path, "file_id", st.id, "offset", off)
	}
	st.lineStart = st.pos
	t.files[k] = st
	return true
}

// outOfFDs reports whether err is the lack of file descriptors (EMFILE,
// ENFILE). Then it lowers maxOpen below the handles held now, so that
// the rest of the agent can open files again and waiting files take turns,
// and warns once.
func (t *Tailer) outOfFDs(err error) bool {
	if !errors.Is(err, syscall.EMFILE) && !errors.Is(err, syscall.ENFILE) {
		return false
	}
	t.maxOpen = max(1, min(t.maxOpen, t.open-fdMargin))
	if !t.fdFull {
		t.log.Warn("out of file descriptors: fewer files are kept open", "max_open_files", t.maxOpen, "error", err)
	}
	t.fdFull = true
	return true
}

// fdMargin is how many handles a tailer gives up when it runs out of file
// descriptors.
const fdMargin = 16

// reopen opens a file closed for inactivity that changed since.
func (t *Tailer) reopen(st *file) bool {
	f, err := os.Open(st.path)
	if err != nil {
		t.outOfFDs(err)
		return false
	}
	fi, err := f.Stat()
	if err != nil || keyOf(fi) != st.key {
		f.Close()
		return false
	}
	st.f, st.atEOF, st.lastData = f, true, time.Now()
	t.open++
	t.nOpen.Store(int64(t.open))
	t.log.Debug("file reopened", "path", st.path, "file_id", st.id)
	return true
}

// extendFingerprint hashes more of a short file's first bytes once it grew.
func (t *Tailer) extendFingerprint(st *file, hb []byte) {
	if len(hb) > st.fpLen && st.fpLen < t.cfg.FingerprintBytes {
		hb = hb[:min(len(hb), t.cfg.FingerprintBytes)]
		st.fp, st.fpLen, st.head = hash(hb), len(hb), t.keepHead(hb)
		t.reg.SetFingerprint(st.id, st.fp, st.fpLen)
	}
}

// keepHead returns the fingerprinted bytes b to keep in file.head: a copy
// while the fingerprint can still grow, nil once it is full.
func (t *Tailer) keepHead(b []byte) []byte {
	if len(b) >= t.cfg.FingerprintBytes {
		return nil
	}
	return bytes.Clone(b)
}

// readPastFingerprint extends a short fingerprint with the bytes b just read
// at offset start, when they continue the fingerprinted bytes. Without it a
// file that was empty or short at the last stat and grew before the read
// would be read past its fingerprint, which would then cover too few bytes to
// notice a later truncation followed by a rewrite beyond the read offset.
func (t *Tailer) readPastFingerprint(st *file, start int64, b []byte) {
	n := int64(st.fpLen)
	if n >= int64(t.cfg.FingerprintBytes) || start > n || start+int64(len(b)) <= n || len(st.head) != st.fpLen {
		return
	}
	more := b[n-start : min(int64(len(b)), int64(t.cfg.FingerprintBytes)-start)]
	t.extendFingerprint(st, append(st.head[:st.fpLen:st.fpLen], more...))
}

// keepTail records b, just read up to st.pos, as the bytes before st.pos.
func (st *file) keepTail(b []byte) {
	if len(b) >= tailBytes {
		st.tailLen = copy(st.tail[:], b[len(b)-tailBytes:])
		return
	}
	keep := min(st.tailLen, tailBytes-len(b))
	copy(st.tail[:], st.tail[st.tailLen-keep:st.tailLen])
	st.tailLen = keep + copy(st.tail[keep:], b)
}

// loadTail reads the (at most tailBytes) bytes before offset into st.tail,
// when the read offset is set from the registry or the file's size rather
// than by reading. It reports whether they could all be read; if not,
// st.tail is left empty.
func (st *file) loadTail(offset int64) bool {
	n := int(min(offset, tailBytes))
	m, _ := st.f.ReadAt(st.tail[:n], offset-int64(n))
	st.tailLen = 0
	if m != n {
		return false
	}
	st.tailLen = n
	return true
}

// tailIntact reports whether the bytes before st.pos are still those read
// there. They differ when the file was truncated and written again past
// st.pos with its first bytes (the fingerprint) unchanged, e.g. a startup
// banner longer than the fingerprint, which the fingerprint cannot see.
func (t *Tailer) tailIntact(st *file) bool {
	if st.tailLen == 0 {
		return true
	}
	var b [tailBytes]byte
	n, _ := st.f.ReadAt(b[:st.tailLen], st.pos-int64(st.tailLen))
	return n == st.tailLen && bytes.Equal(b[:n], st.tail[:n])
}

// resumable reports whether st's file can resume at the registry offset of
// e: when the registry holds the hash of the bytes before that very offset
// (recorded as the line ending there was read, see recordLineEnd), they
// must hash the same; a file that fails was truncated and rewritten while
// the agent was stopped with the same first bytes, and its content is
// another. Without a record for the offset (a stop before the lines read
// were delivered, a flushed partial line, start_at "end") it resumes. The
// bytes before the offset, read once for the check, become st's tail (see
// tailIntact).
func (t *Tailer) resumable(st *file, e registry.Entry) bool {
	if !st.loadTail(e.Offset) {
		return false
	}
	return e.TailHash == "" || e.TailOffset != e.Offset || hash(st.tail[:st.tailLen]) == e.TailHash
}

// recordLineEnd records in the registry, for the check at the next start
// (see resumable), the hash of the bytes before the end of the last line
// that ends in chunk, read at offset start; st.tail holds the bytes before
// start. Every line end is an offset the registry may acknowledge last, and
// once the lines read so far are delivered (as at a clean stop) it is.
func (t *Tailer) recordLineEnd(st *file, start int64, chunk []byte) {
	k := bytes.LastIndexByte(chunk, '\n') + 1
	if k == 0 {
		return
	}
	end := start + int64(k)
	n := int(min(end, tailBytes))
	var b [tailBytes]byte
	got := copy(b[max(0, n-k):n], chunk[max(0, k-n):k]) // from the chunk
	if need := n - got; need > 0 {                      // the rest from before the chunk
		if st.tailLen < need {
			return // not known: no record
		}
		copy(b[:need], st.tail[st.tailLen-need:st.tailLen])
	}
	t.reg.SetTail(st.id, end, hash(b[:n]))
}

// truncated starts a file over after its content was replaced: a new FileID
// (so in-flight acks for the old content are ignored) and offset 0.
func (t *Tailer) truncated(st *file, hb []byte) {
	old := st.id
	delete(t.sent, old)
	st.id = registry.NewFileID(st.key.dev, st.key.ino)
	st.pos, st.lineStart, st.pending, st.over, st.hasOrigin, st.tailLen = 0, 0, st.pending[:0], false, false, 0
	st.fp, st.fpLen, st.head = hash(hb), len(hb), t.keepHead(hb)
	regPath := st.regPath
	if regPath == "" {
		regPath = st.path
	}
	t.reg.Put(registry.Entry{FileID: st.id, Path: regPath, Device: st.key.dev, Inode: st.key.ino,
		Fingerprint: st.fp, FingerprintLen: st.fpLen})
	t.log.Info("file truncated", "path", st.path, "file_id", st.id, "old_file_id", old)
}

// readAll gives every open file one turn. It reports whether any bytes were
// read or lines emitted; the error is ctx's when a send was cancelled.
func (t *Tailer) readAll(ctx context.Context, out chan<- []Line) (bool, error) {
	keys := make([]fileKey, 0, len(t.files))
	for k, st := range t.files {
		if st.f != nil {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, cmpKey)
	progressed := false
	for _, k := range keys {
		p, err := t.readFile(ctx, t.files[k], out)
		if err != nil {
			return progressed, err
		}
		progressed = progressed || p
	}
	return progressed, nil
}

func (t *Tailer) readFile(ctx context.Context, st *file, out chan<- []Line) (bool, error) {
	if st.atEOF {
		fi, err := st.f.Stat()
		if err != nil {
			t.log.Warn("stat file", "path", st.path, "error", err)
			t.forget(st)
			return false, nil
		}
		if t.statHook != nil {
			t.statHook(fi)
		}
		changed := !fi.ModTime().Equal(st.mtime)
		known := st.size // the size at the last look: bytes up to it existed
		st.size, st.mtime = fi.Size(), fi.ModTime()
		switch {
		case fi.Size() < st.pos:
			if known > st.pos {
				// A copytruncate while reading lagged behind (backpressure,
				// an outage): the bytes between are gone unless the copy
				// is matched by paths too.
				t.log.Warn("file truncated before it was read to its end: the unread lines are lost unless the rotated copy matches the input's paths", "path", st.path, "unread_bytes_at_least", known-st.pos)
			}
			hb, _ := head(st.f, min(fi.Size(), int64(t.cfg.FingerprintBytes)))
			t.truncated(st, hb)
		case fi.Size() > st.pos || changed:
			// Written since the last look: a truncation followed by a
			// rewrite to the same or a larger size shows only in the
			// fingerprint.
			hb, err := head(st.f, min(fi.Size(), int64(t.cfg.FingerprintBytes)))
			if err != nil {
				return false, nil
			}
			if len(hb) < st.fpLen || hash(hb[:st.fpLen]) != st.fp || !t.tailIntact(st) {
				t.truncated(st, hb)
			} else {
				t.extendFingerprint(st, hb)
				if fi.Size() == st.pos {
					return t.idle(ctx, st, fi, out)
				}
			}
		default:
			return t.idle(ctx, st, fi, out)
		}
		st.atEOF = false
	}
	progressed := false
	for budget := passBudget; budget > 0; {
		n, err := st.f.ReadAt(t.buf, st.pos)
		if n > 0 {
			progressed = true
			st.lastData = time.Now()
			start := st.pos
			st.pos += int64(n)
			budget -= n
			t.readPastFingerprint(st, start, t.buf[:n])
			t.recordLineEnd(st, start, t.buf[:n])
			st.keepTail(t.buf[:n])
			if err := t.consume(ctx, st, start, t.buf[:n], out); err != nil {
				return true, err
			}
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.log.Warn("read file", "path", st.path, "error", err)
			}
			st.atEOF = true
			break
		}
	}
	return progressed, nil
}

// idle handles a file at its end: flush a partial line, close it when
// deleted or inactive.
func (t *Tailer) idle(ctx context.Context, st *file, fi os.FileInfo, out chan<- []Line) (bool, error) {
	if t.cfg.Once {
		st.done = true
		t.closeFile(st)
		return false, nil
	}
	quiet := time.Since(st.lastData)
	if t.cfg.FlushPartialAfter > 0 && (len(st.pending) > 0 || st.over) && quiet >= t.cfg.FlushPartialAfter {
		if err := t.emit(ctx, st, st.pos, true, out); err != nil {
			return true, err
		}
		return true, nil
	}
	if nlink(fi) == 0 {
		t.log.Info("file deleted", "path", st.path, "file_id", st.id)
		t.forget(st)
		t.reg.Remove(st.id)
		return false, nil
	}
	if quiet >= t.cfg.CloseInactive {
		t.log.Info("file inactive", "path", st.path, "file_id", st.id)
		t.closeFile(st)
		if st.gone {
			t.forget(st)
			// Read to its end: findRotated need not search for it until
			// its old path changes again.
			var occ fileKey
			if fi, err := os.Stat(st.path); err == nil {
				occ = keyOf(fi)
			}
			t.searched[st.id] = occ
		}
	}
	return false, nil
}

// consume splits chunk, read at offset start, into lines.
func (t *Tailer) consume(ctx context.Context, st *file, start int64, chunk []byte, out chan<- []Line) error {
	for len(chunk) > 0 {
		i := bytes.IndexByte(chunk, '\n')
		if i < 0 {
			t.appendPending(st, chunk)
			return nil
		}
		t.appendPending(st, chunk[:i])
		end := start + int64(i) + 1
		if err := t.emit(ctx, st, end, false, out); err != nil {
			return err
		}
		chunk, start = chunk[i+1:], end
	}
	return nil
}

func (t *Tailer) appendPending(st *file, b []byte) {
	if room := t.cfg.MaxLineBytes - len(st.pending); len(b) > room {
		st.pending = append(st.pending, b[:room]...)
		st.over = true
		return
	}
	st.pending = append(st.pending, b...)
}

var bom = []byte("\xef\xbb\xbf")

// emit adds the pending line, which ends at end, to the chunk unless it is
// blank, first sending the chunk when the line would overfill it.
func (t *Tailer) emit(ctx context.Context, st *file, end int64, partial bool, out chan<- []Line) error {
	text, over, offset := st.pending, st.over, st.lineStart
	st.pending, st.over, st.lineStart = st.pending[:0], false, end
	if cap(st.pending) > readChunk {
		st.pending = nil // text stays valid; memory held per idle file stays small
	}
	if !over {
		text = bytes.TrimSuffix(text, []byte("\r"))
	}
	text = bytes.TrimLeft(text, "\x00")
	text = bytes.TrimPrefix(text, bom)
	if !over && len(bytes.Trim(text, " \t\r\v\f\x00")) == 0 {
		return nil
	}
	if !st.hasOrigin {
		t.computeOrigin(st)
	}
	if len(t.chunk) > 0 && (len(t.chunk) >= t.cfg.ChunkLines || len(t.arena)+len(text) > ChunkBytes) {
		if err := t.flush(ctx, out); err != nil {
			return err
		}
	}
	if t.arena == nil {
		t.arena = make([]byte, 0, max(ChunkBytes, len(text)))
		// A quarter more than the last chunk: chunks cut at ChunkBytes
		// vary by a few lines, and growing a full slice copies it whole.
		t.chunk = make([]Line, 0, min(t.cfg.ChunkLines, max(16, t.lastSent+t.lastSent/4)))
	}
	start := len(t.arena)
	t.arena = append(t.arena, text...)
	t.chunk = append(t.chunk, Line{
		Source: event.Position{Input: t.input, Path: st.path, FileID: st.id, Origin: st.origin,
			Offset: offset, End: end},
		Text:     t.arena[start:len(t.arena):len(t.arena)],
		Oversize: over,
		Partial:  partial,
	})
	return nil
}

// flush sends the lines emitted so far as one chunk. The chunk and its
// arena then belong to the receiver: the next line starts new ones.
func (t *Tailer) flush(ctx context.Context, out chan<- []Line) error {
	if len(t.chunk) == 0 {
		return nil
	}
	if len(t.arena) < cap(t.arena)/4 {
		// A short chunk (a followed file written a line at a time) must
		// not pin a whole arena for as long as its events are in flight.
		small := bytes.Clone(t.arena)
		start := 0
		for i := range t.chunk {
			n := len(t.chunk[i].Text)
			t.chunk[i].Text = small[start : start+n : start+n]
			start += n
		}
	}
	select {
	case out <- t.chunk:
		if t.cfg.Owners != nil {
			t.noteSent()
		}
		t.lastSent = len(t.chunk)
		t.chunk, t.arena = nil, nil
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// noteSent records the end of the last line of each file in the chunk just
// sent: the last line of each run of one file's lines (a file's offsets
// only grow under one FileID; a truncation starts a new one).
func (t *Tailer) noteSent() {
	if t.sent == nil {
		t.sent = map[string]int64{}
	}
	for i := range t.chunk {
		src := &t.chunk[i].Source
		if i+1 == len(t.chunk) || t.chunk[i+1].Source.FileID != src.FileID {
			t.sent[src.FileID] = src.End
		}
	}
}

// computeOrigin hashes the file's first line (at most 1024 bytes), read
// afresh so that it does not depend on where reading started.
func (t *Tailer) computeOrigin(st *file) {
	b := make([]byte, MaxFingerprintBytes)
	n, err := st.f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return // try again with the next line
	}
	b = b[:n]
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	st.origin, st.hasOrigin = event.OriginOf(b), true
	t.reg.SetOrigin(st.id, st.origin)
}
