package registry

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRegistry_MissingFileIsEmpty(t *testing.T) {
	t.Parallel()
	r, err := Open(filepath.Join(t.TempDir(), "registry.json"), 0)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(r.Entries()); n != 0 {
		t.Fatalf("entries = %d, want 0", n)
	}
}

func TestRegistry_CorruptFileNamesPath(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, content string }{
		{"not json", "{nope"},
		{"wrong version", `{"version":7,"files":[]}`},
		{"entry without id", `{"version":1,"files":[{"path":"/x"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "registry.json")
			if err := os.WriteFile(p, []byte(tc.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(p, 0)
			if err == nil || !strings.Contains(err.Error(), p) {
				t.Fatalf("Open error = %v, want one naming %q", err, p)
			}
		})
	}
}

func TestRegistry_SaveAndReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "registry.json")
	r, err := Open(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	id := NewFileID(1, 2)
	r.Put(Entry{FileID: id, Path: "/var/log/a.log", Device: 1, Inode: 2, Fingerprint: "ab", FingerprintLen: 3})
	r.SetOrigin(id, 42)
	r.Ack(id, 10)
	r.Ack(id, 5)          // never backwards
	r.Ack("unknown", 100) // ignored
	if err := r.Save(); err != nil {
		t.Fatal(err)
	}
	r2, err := Open(p, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	want := r.Entries()
	if diff := cmp.Diff(want, r2.Entries()); diff != "" {
		t.Fatalf("reopened registry (-want +got):\n%s", diff)
	}
	if want[0].Offset != 10 || want[0].Origin != 42 || !want[0].HasOrigin {
		t.Fatalf("entry = %+v, want offset 10 and origin 42", want[0])
	}
	// The atomic write leaves no temporary files behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("dir holds %d files, want only the registry", len(ents))
	}
	b, _ := os.ReadFile(p)
	if !strings.HasPrefix(string(b), "{\n  \"version\": 1,") {
		t.Fatalf("registry file starts %q, want the version first", b[:20])
	}
}

func TestRegistry_SaveOnlyWhenChanged(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "registry.json")
	r, _ := Open(p, 0)
	id := NewFileID(1, 2)
	r.Put(Entry{FileID: id, Device: 1, Inode: 2})
	if err := r.Save(); err != nil {
		t.Fatal(err)
	}
	fi1, _ := os.Stat(p)
	r.Touch(id, "") // same path, just seen: no rewrite
	r.Ack(id, 0)    // not forward: no rewrite
	if err := r.Save(); err != nil {
		t.Fatal(err)
	}
	fi2, _ := os.Stat(p)
	if !os.SameFile(fi1, fi2) {
		t.Fatal("unchanged registry was rewritten")
	}
	r.Ack(id, 3)
	if err := r.Save(); err != nil {
		t.Fatal(err)
	}
	fi3, _ := os.Stat(p)
	if os.SameFile(fi1, fi3) {
		t.Fatal("changed registry was not rewritten")
	}
}

func TestRegistry_TTL(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "registry.json")
	r, _ := Open(p, time.Hour)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return now }
	old, fresh := NewFileID(1, 1), NewFileID(1, 2)
	r.Put(Entry{FileID: old, Device: 1, Inode: 1})
	now = now.Add(50 * time.Minute)
	r.Put(Entry{FileID: fresh, Device: 1, Inode: 2})
	now = now.Add(20 * time.Minute) // old: 70m unseen, fresh: 20m
	if err := r.Save(); err != nil {
		t.Fatal(err)
	}
	r2, _ := Open(p, time.Hour)
	var ids []string
	for _, e := range r2.Entries() {
		ids = append(ids, e.FileID)
	}
	if diff := cmp.Diff([]string{fresh}, ids); diff != "" {
		t.Fatalf("entries after TTL (-want +got):\n%s", diff)
	}
}

// TestRegistry_AcksAfterTruncation shows why a truncated file gets a new
// FileID: acks in flight for lines read before the truncation must not move
// the offset of the new content.
func TestRegistry_AcksAfterTruncation(t *testing.T) {
	t.Parallel()
	r, _ := Open(filepath.Join(t.TempDir(), "registry.json"), 0)
	before := NewFileID(1, 2)
	r.Put(Entry{FileID: before, Device: 1, Inode: 2})
	r.Ack(before, 100)
	after := NewFileID(1, 2)
	r.Put(Entry{FileID: after, Device: 1, Inode: 2}) // replaces the old content's entry
	r.Ack(before, 200)                               // late ack for the old content
	if _, ok := r.Get(before); ok {
		t.Fatal("obsolete entry still present")
	}
	e, _ := r.Get(after)
	if e.Offset != 0 {
		t.Fatalf("offset after truncation = %d, want 0", e.Offset)
	}
	if e, ok := r.Find(1, 2); !ok || e.FileID != after {
		t.Fatalf("Find = %+v, %v; want the new entry", e, ok)
	}
}
