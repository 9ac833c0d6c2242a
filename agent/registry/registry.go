package registry

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// Version is the format version written to and accepted from the registry
// file.
const Version = 1

// touchEvery bounds how often a mere LastSeen refresh makes the registry
// dirty, so that a Save every second does not rewrite an unchanged file.
const touchEvery = time.Minute

// Entry is the durable state of one file identity.
type Entry struct {
	FileID         string    `json:"file_id"`               // registry key; changes when the file is truncated
	Path           string    `json:"path"`                  // path the file was last seen at
	Device         uint64    `json:"device"`                // st_dev
	Inode          uint64    `json:"inode"`                 // st_ino
	Fingerprint    string    `json:"fingerprint"`           // hex sha256 of the first FingerprintLen bytes
	FingerprintLen int       `json:"fingerprint_len"`       // bytes hashed into Fingerprint, at most 1024
	Origin         uint64    `json:"origin"`                // event.OriginOf(first line); valid when HasOrigin
	HasOrigin      bool      `json:"has_origin"`            // reports whether Origin was computed
	Offset         int64     `json:"offset"`                // bytes; End of the last acknowledged line
	TailOffset     int64     `json:"tail_offset,omitempty"` // bytes; where TailHash was taken, 0: none
	TailHash       string    `json:"tail_hash,omitempty"`   // hex sha256 of the (at most 32) bytes before TailOffset, as read there
	LastSeen       time.Time `json:"last_seen"`             // UTC; when the file was last seen by a scan
}

type fileFormat struct {
	Version int     `json:"version"`
	Files   []Entry `json:"files"`
}

// Registry holds the resume offsets of every known file identity and writes
// them to one JSON file. All methods are safe for concurrent use.
type Registry struct {
	path string
	ttl  time.Duration
	now  func() time.Time

	mu      sync.Mutex
	entries map[string]*Entry // by FileID
	dirty   bool
	saved   map[string]time.Time // LastSeen as last written, per FileID
}

// Open reads the registry file at path. A missing file gives an empty
// registry; an unreadable or corrupt file is an error naming the path.
// Entries whose file was not seen for longer than ttl are dropped on Save;
// ttl <= 0 keeps them forever.
func Open(path string, ttl time.Duration) (*Registry, error) {
	r := &Registry{
		path:    path,
		ttl:     ttl,
		now:     func() time.Time { return time.Now().UTC() },
		entries: map[string]*Entry{},
		saved:   map[string]time.Time{},
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open registry %q: %w", path, err)
	}
	var ff fileFormat
	if err := json.Unmarshal(b, &ff); err != nil {
		return nil, fmt.Errorf("open registry %q: corrupt: %w (move the file aside to read every file again from its start; the sqlite and elasticsearch outputs store each event id once)", path, err)
	}
	if ff.Version != Version {
		return nil, fmt.Errorf("open registry %q: unsupported version %d, want %d", path, ff.Version, Version)
	}
	for i := range ff.Files {
		e := ff.Files[i]
		if e.FileID == "" {
			return nil, fmt.Errorf("open registry %q: corrupt: entry %d has no file_id", path, i)
		}
		r.entries[e.FileID] = &e
		r.saved[e.FileID] = e.LastSeen
	}
	return r, nil
}

// Path returns the file the registry is written to.
func (r *Registry) Path() string { return r.path }

// NewFileID returns a fresh, unique FileID for the file with the given device
// and inode. Every identity, including the same inode after a truncation,
// gets its own FileID, so that acks for lines read before the truncation hit
// an obsolete entry.
func NewFileID(dev, ino uint64) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return fmt.Sprintf("%x-%x-%s", dev, ino, hex.EncodeToString(b[:]))
}

// Ack records that every line of fileID up to byte offset end was committed
// (or skipped or dead-lettered). It must be called in file order. The offset
// never moves backwards; acks for unknown or obsolete file ids are ignored.
func (r *Registry) Ack(fileID string, end int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[fileID]
	if !ok || end <= e.Offset {
		return
	}
	e.Offset = end
	r.dirty = true
}

// Get returns a copy of the entry with the given FileID.
func (r *Registry) Get(fileID string) (Entry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[fileID]
	if !ok {
		return Entry{}, false
	}
	return *e, true
}

// Find returns a copy of the entry for the file with the given device and
// inode. There is at most one: [Registry.Put] replaces older ones.
func (r *Registry) Find(dev, ino uint64) (Entry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries {
		if e.Device == dev && e.Inode == ino {
			return *e, true
		}
	}
	return Entry{}, false
}

// Put inserts e (LastSeen set to now) and removes every other entry with the
// same device and inode: those describe an earlier content of the inode
// (before a truncation, or a deleted file whose inode was reused).
func (r *Registry) Put(e Entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, o := range r.entries {
		if id != e.FileID && o.Device == e.Device && o.Inode == e.Inode {
			delete(r.entries, id)
			delete(r.saved, id)
		}
	}
	e.LastSeen = r.now()
	r.entries[e.FileID] = &e
	r.dirty = true
}

// Remove drops the entry with the given FileID, e.g. when its file was seen
// deleted; later acks for it are ignored.
func (r *Registry) Remove(fileID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.entries[fileID]; ok {
		delete(r.entries, fileID)
		delete(r.saved, fileID)
		r.dirty = true
	}
}

// SetFingerprint replaces the fingerprint of fileID, used when a short file
// grew and more of its first bytes can be hashed.
func (r *Registry) SetFingerprint(fileID, fp string, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.entries[fileID]; ok && (e.Fingerprint != fp || e.FingerprintLen != n) {
		e.Fingerprint, e.FingerprintLen = fp, n
		r.dirty = true
	}
}

// SetOrigin records the origin hash of fileID once its first line is known.
func (r *Registry) SetOrigin(fileID string, origin uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.entries[fileID]; ok && (!e.HasOrigin || e.Origin != origin) {
		e.Origin, e.HasOrigin = origin, true
		r.dirty = true
	}
}

// SetTail records hash, the hex sha256 of the (at most 32) bytes just
// before offset as the tailer read them, so that a restart can tell whether
// the content before the acknowledged offset is still the same once Offset
// has reached offset.
func (r *Registry) SetTail(fileID string, offset int64, hash string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.entries[fileID]; ok && (e.TailOffset != offset || e.TailHash != hash) {
		e.TailOffset, e.TailHash = offset, hash
		r.dirty = true
	}
}

// Touch records that fileID was seen at path now. Only a path change or a
// LastSeen older than a minute makes the next Save write.
func (r *Registry) Touch(fileID, path string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.entries[fileID]
	if !ok {
		return
	}
	now := r.now()
	e.LastSeen = now
	if e.Path != path {
		e.Path = path
		r.dirty = true
	}
	if now.Sub(r.saved[fileID]) >= touchEvery {
		r.dirty = true
	}
}

// Entries returns a copy of all entries, sorted by FileID.
func (r *Registry) Entries() []Entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sortedLocked()
}

func (r *Registry) sortedLocked() []Entry {
	out := make([]Entry, 0, len(r.entries))
	for _, e := range r.entries {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b Entry) int {
		switch {
		case a.FileID < b.FileID:
			return -1
		case a.FileID > b.FileID:
			return 1
		}
		return 0
	})
	return out
}

// Save drops entries not seen for longer than the TTL and, if anything
// changed since the last Save, writes the registry atomically: a temporary
// file in the same directory, fsync, rename over the registry file, fsync of
// the directory. It is cheap when nothing changed and safe to call often.
func (r *Registry) Save() error {
	r.mu.Lock()
	if r.ttl > 0 {
		cut := r.now().Add(-r.ttl)
		for id, e := range r.entries {
			if e.LastSeen.Before(cut) {
				delete(r.entries, id)
				delete(r.saved, id)
				r.dirty = true
			}
		}
	}
	if !r.dirty {
		r.mu.Unlock()
		return nil
	}
	files := r.sortedLocked()
	r.dirty = false
	r.mu.Unlock()

	b, err := json.MarshalIndent(fileFormat{Version: Version, Files: files}, "", "  ")
	if err == nil {
		err = writeAtomic(r.path, append(b, '\n'))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.dirty = true // try again next time
		return fmt.Errorf("save registry %q: %w", r.path, err)
	}
	for _, e := range files {
		if _, ok := r.entries[e.FileID]; ok {
			r.saved[e.FileID] = e.LastSeen
		}
	}
	return nil
}

// writeAtomic replaces path with data so that a crash leaves either the old
// or the new content, never a mix.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
