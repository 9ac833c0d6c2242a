package tailer

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/agent/registry"
	"github.com/auditship/auditship/event"
)

func TestTailer_Append(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app.log")
	write(t, h.path("app.log"), "a\nb\n")
	h.start()
	h.check([]string{"a", "b"})
	write(t, h.path("app.log"), "c\n")
	h.check([]string{"a", "b", "c"})
	ls := h.got()
	want := event.Position{Input: "test", Path: h.path("app.log"), FileID: ls[0].Source.FileID,
		Origin: event.OriginOf([]byte("a")), Offset: 4, End: 6}
	if diff := cmp.Diff(want, ls[2].Source); diff != "" {
		t.Fatalf("position of c (-want +got):\n%s", diff)
	}
}

func TestTailer_PartialLine(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app.log")
	write(t, h.path("app.log"), "a\nb")
	h.start()
	h.check([]string{"a"})
	write(t, h.path("app.log"), "c\n")
	h.check([]string{"a", "bc"})
}

func TestTailer_RenameRotation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app.log")
	w, err := os.OpenFile(h.path("app.log"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	must(t, err)
	defer w.Close()
	_, _ = w.WriteString("a1\na2\n")
	h.start()
	h.check([]string{"a1", "a2"})
	must(t, os.Rename(h.path("app.log"), h.path("app.log.1")))
	write(t, h.path("app.log"), "b1\n")
	_, _ = w.WriteString("a3\n") // the writer has not reopened yet
	write(t, h.path("app.log"), "b2\n")
	h.check([]string{"a1", "a2", "a3"}, []string{"b1", "b2"})
	h.restart() // nothing is read twice
	write(t, h.path("app.log"), "b3\n")
	h.check([]string{"a1", "a2", "a3"}, []string{"b1", "b2", "b3"})
}

func TestTailer_TwoQuickRotations(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app.log*")
	write(t, h.path("app.log"), "a1\n")
	h.start()
	h.check([]string{"a1"})
	write(t, h.path("app.log"), "a2\n")
	must(t, os.Rename(h.path("app.log"), h.path("app.log.1")))
	write(t, h.path("app.log"), "b1\n")
	must(t, os.Rename(h.path("app.log.1"), h.path("app.log.2")))
	must(t, os.Rename(h.path("app.log"), h.path("app.log.1")))
	write(t, h.path("app.log"), "c1\n")
	write(t, h.path("app.log.1"), "b2\n")
	h.check([]string{"a1", "a2"}, []string{"b1", "b2"}, []string{"c1"})
}

func TestTailer_RotationToMatchingName(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "*.log")
	write(t, h.path("app.log"), "a1\na2\n")
	h.start()
	h.check([]string{"a1", "a2"})
	must(t, os.Rename(h.path("app.log"), h.path("app-1.log")))
	write(t, h.path("app-1.log"), "a3\n")
	write(t, h.path("app.log"), "b1\n")
	h.check([]string{"a1", "a2", "a3"}, []string{"b1"})
	for _, l := range h.got() {
		if string(l.Text) == "a3" && l.Source.Path != h.path("app-1.log") {
			t.Fatalf("a3 read from %q, want the new name", l.Source.Path)
		}
	}
}

func TestTailer_CopyTruncate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		glob     string
		copyRead bool
	}{
		{"copy not matched", "app.log", false},
		{"copy matched", "app.log*", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tc.glob)
			write(t, h.path("app.log"), "a1\na2\n")
			h.start()
			h.check([]string{"a1", "a2"})
			b, err := os.ReadFile(h.path("app.log"))
			must(t, err)
			must(t, os.WriteFile(h.path("app.log.1"), b, 0o600))
			must(t, os.Truncate(h.path("app.log"), 0))
			write(t, h.path("app.log"), "b1\n")
			want := [][]string{{"a1", "a2"}, {"b1"}}
			if tc.copyRead {
				want = [][]string{{"a1", "a2"}, {"a1", "a2"}, {"b1"}}
			}
			h.check(want...)
			ls := h.got()
			first := ls[0].Source
			for _, l := range ls {
				if string(l.Text) == "b1" {
					if l.Source.FileID == first.FileID || l.Source.Offset != 0 {
						t.Fatalf("after truncation: %+v, want a new FileID and offset 0 (before: %+v)", l.Source, first)
					}
				} else if l.Source.Origin != first.Origin {
					t.Fatalf("copy origin %x, want the original's %x", l.Source.Origin, first.Origin)
				}
			}
		})
	}
}

func TestTailer_TruncateThenLongerRewrite(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app.log")
	write(t, h.path("app.log"), "a1\na2\n")
	h.start()
	h.check([]string{"a1", "a2"})
	// One write(2) replaces the content with a longer one: the size never
	// drops below the offset as seen by a poll, only the fingerprint tells.
	must(t, os.WriteFile(h.path("app.log"), []byte("b1-longer\nb2-longer\n"), 0o600))
	h.check([]string{"a1", "a2"}, []string{"b1-longer", "b2-longer"})
}

// TestTailer_GrewBetweenStatAndRead replays, with a hook in the tailer, a race
// CI hit: a file truncated to empty is written to between the tailer's stat
// (size 0: a new identity, fingerprint of 0 bytes) and its read, so the read
// goes past the fingerprinted bytes within the same unchanged mtime tick. The
// fingerprint must grow with that read; otherwise a second truncation followed
// by a longer rewrite matches the empty fingerprint and is read from the old
// offset, losing its first lines.
func TestTailer_GrewBetweenStatAndRead(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app.log")
	app := h.path("app.log")
	write(t, app, "a1\na2\n")
	var phase atomic.Int32 // 1: write within the stat of the empty file; 2: truncate and rewrite within the next stat
	second := "c1-a-longer-line\nc2-a-longer-line\nc3\n"
	h.hook = func(fi os.FileInfo) {
		switch {
		case phase.Load() == 1 && fi.Size() == 0:
			write(t, app, "b1\nb2\n")
			must(t, os.Chtimes(app, time.Time{}, fi.ModTime())) // the same coarse mtime tick
			phase.Store(0)
		case phase.Load() == 2:
			must(t, os.WriteFile(app, []byte(second), 0o600))
			must(t, os.Chtimes(app, time.Time{}, fi.ModTime()))
			phase.Store(0)
		}
	}
	h.start()
	h.check([]string{"a1", "a2"})
	phase.Store(1)
	must(t, os.Truncate(app, 0))
	h.check([]string{"a1", "a2"}, []string{"b1", "b2"})
	phase.Store(2)
	h.check([]string{"a1", "a2"}, []string{"b1", "b2"}, []string{"c1-a-longer-line", "c2-a-longer-line", "c3"})
	if phase.Load() != 0 {
		t.Fatal("the hook did not run")
	}
}

func TestTailer_TruncationWhileStopped(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, content string }{
		{"shorter", "b\n"},
		{"longer", "b1-longer-than-before\nb2\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, "app.log")
			write(t, h.path("app.log"), "a1\na2\n")
			h.start()
			h.check([]string{"a1", "a2"})
			h.stop()
			must(t, os.Truncate(h.path("app.log"), 0))
			write(t, h.path("app.log"), tc.content)
			h.start()
			want := strings.Split(strings.TrimSuffix(tc.content, "\n"), "\n")
			h.check([]string{"a1", "a2"}, want)
		})
	}
}

// TestTailer_TruncateRewriteSameHead truncates a file and writes it again
// past the read offset with the same first bytes, so that the fingerprint
// (8 bytes here; a long startup banner does the same with the default 1024)
// matches: while the tailer runs, the bytes before the offset give it away
// (the rewrite happens within one stat, in the hook); while it is stopped,
// the registry's offset no longer follows a newline, or the bytes before it
// no longer hash to what the registry recorded when the file was read to
// its end.
func TestTailer_TruncateRewriteSameHead(t *testing.T) {
	t.Parallel()
	const head = "HEADLINE\n" // longer than the fingerprint
	for _, tc := range []struct {
		name    string
		stopped bool
		second  string
	}{
		{"running", false, head + "b1-longer\nb2\nb3\n"},
		{"stopped", true, head + "b1-longer\nb2\nb3\n"},
		// The old offset (15) falls just after a newline of the new
		// content: only the registry's hash of the bytes before it tells.
		{"stopped, offset on a line end", true, head + "b1\nb2\nb3\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, "app.log")
			h.cfg.FingerprintBytes = 8
			app := h.path("app.log")
			write(t, app, head+"a1\na2\n")
			second, stopped := tc.second, tc.stopped
			var rewrite atomic.Bool
			h.hook = func(fi os.FileInfo) {
				if rewrite.CompareAndSwap(true, false) {
					must(t, os.WriteFile(app, []byte(second), 0o600))
					must(t, os.Chtimes(app, time.Time{}, fi.ModTime()))
				}
			}
			h.start()
			h.check([]string{"HEADLINE", "a1", "a2"})
			if stopped {
				h.stop()
				must(t, os.WriteFile(app, []byte(second), 0o600))
				h.start()
			} else {
				rewrite.Store(true)
			}
			h.check([]string{"HEADLINE", "a1", "a2"}, strings.Split(strings.TrimSuffix(second, "\n"), "\n"))
		})
	}
}

func TestTailer_InodeReuse(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app.log")
	write(t, h.path("app.log"), "old content line 1\nold 2\n")
	h.start()
	h.check([]string{"old content line 1", "old 2"})
	h.stop()
	must(t, os.Remove(h.path("app.log")))
	write(t, h.path("app.log"), "new content line 1\nnew 2\nnew 3\n")
	// Whether or not the file system reused the inode, make the registry
	// hold a stale entry for the new inode, as if it had.
	fi, err := os.Stat(h.path("app.log"))
	must(t, err)
	st := fi.Sys().(*syscall.Stat_t)
	reg, err := registry.Open(h.regPath, 0)
	must(t, err)
	reg.Put(registry.Entry{FileID: registry.NewFileID(uint64(st.Dev), st.Ino), Device: uint64(st.Dev), Inode: st.Ino,
		Fingerprint: hash([]byte("old content line 1\nold 2\n")), FingerprintLen: 25, Offset: 25})
	must(t, reg.Save())
	h.reg = reg
	h.start()
	h.check([]string{"new content line 1", "new 2", "new 3"}, []string{"old content line 1", "old 2"})
}

func TestTailer_ShortFileGrows(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app.log")
	write(t, h.path("app.log"), "a\n")
	h.start()
	h.check([]string{"a"})
	h.stop()
	write(t, h.path("app.log"), "b\n")
	h.start()
	h.check([]string{"a", "b"})
	h.restart()
	write(t, h.path("app.log"), "c\n")
	h.check([]string{"a", "b", "c"})
	es := h.reg.Entries()
	if len(es) != 1 || es[0].FingerprintLen != 6 || es[0].Offset != 6 {
		t.Fatalf("registry = %+v, want one entry, fingerprint over 6 bytes, offset 6", es)
	}
}

func TestTailer_SymlinkRetarget(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "current.log")
	write(t, h.path("a.log"), "a1\n")
	must(t, os.Symlink("a.log", h.path("current.log")))
	h.start()
	h.check([]string{"a1"})
	write(t, h.path("b.log"), "b1\n")
	must(t, os.Symlink("b.log", h.path("tmp.link")))
	must(t, os.Rename(h.path("tmp.link"), h.path("current.log"))) // atomic retarget
	write(t, h.path("a.log"), "a2\n")
	h.check([]string{"a1", "a2"}, []string{"b1"})
}

func TestTailer_LinkAndTargetMatched(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "*.log")
	write(t, h.path("real.log"), "r1\nr2\n")
	must(t, os.Symlink("real.log", h.path("link.log")))
	h.start()
	h.check([]string{"r1", "r2"})
	h.restart()
	write(t, h.path("real.log"), "r3\n")
	h.check([]string{"r1", "r2", "r3"})
}

func TestTailer_DeleteWhileReading(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := dir + "/app.log"
	const n = 50000 // several reads: the tailer is mid-file when the file goes
	write(t, p, lines("line", n))
	reg, err := registry.Open(dir+"/registry.json", 0)
	must(t, err)
	cfg := DefaultConfig()
	cfg.Paths = []string{p}
	cfg.ScanInterval = 10 * time.Millisecond
	tl, err := New("test", cfg, reg, nil)
	must(t, err)
	ctx, cancel := context.WithCancel(t.Context())
	ch := make(chan []Line)
	done := make(chan error)
	go func() { done <- tl.Run(ctx, ch) }()
	defer func() { cancel(); <-done }()
	var got []string
	add := func(chunk []Line) {
		for _, l := range chunk {
			got = append(got, string(l.Text))
		}
	}
	add(<-ch) // the tailer is now blocked sending the second chunk
	must(t, os.Remove(p))
	for len(got) < n {
		select {
		case chunk := <-ch:
			add(chunk)
		case <-time.After(10 * time.Second):
			t.Fatalf("got %d lines, want %d", len(got), n)
		}
	}
	if diff := cmp.Diff(strings.Split(strings.TrimSuffix(lines("line", n), "\n"), "\n"), got); diff != "" {
		t.Fatalf("lines (-want +got):\n%s", diff)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(reg.Entries()) > 0 { // closed and forgotten once read to its end
		if time.Now().After(deadline) {
			t.Fatalf("registry still holds %+v", reg.Entries())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestTailer_DeleteAndRecreate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app.log")
	write(t, h.path("app.log"), "a1\n")
	h.start()
	h.check([]string{"a1"})
	must(t, os.Remove(h.path("app.log")))
	write(t, h.path("app.log"), "b1\n")
	h.check([]string{"a1"}, []string{"b1"})
}

func TestTailer_LongLines(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app.log")
	big := strings.Repeat("x", 4<<20)
	mid := strings.Repeat("y", 64<<10)
	write(t, h.path("app.log"), "first\n"+big+"\n"+mid+"\nlast\n")
	h.start()
	got := h.wait(4)
	type short struct {
		Len      int
		Oversize bool
		Offset   int64
		End      int64
	}
	var gs []short
	for _, l := range got {
		gs = append(gs, short{len(l.Text), l.Oversize, l.Source.Offset, l.Source.End})
	}
	b := int64(len(big))
	want := []short{
		{5, false, 0, 6},
		{1 << 20, true, 6, 6 + b + 1},
		{64 << 10, false, 7 + b, 7 + b + 64<<10 + 1},
		{4, false, 8 + b + 64<<10, 8 + b + 64<<10 + 5},
	}
	if diff := cmp.Diff(want, gs); diff != "" {
		t.Fatalf("lines (-want +got):\n%s", diff)
	}
	if string(got[1].Text[:3]) != "xxx" || string(got[3].Text) != "last" {
		t.Fatalf("texts wrong: %q... %q", got[1].Text[:3], got[3].Text)
	}
}

func TestTailer_BOMAndCRLF(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app.log")
	write(t, h.path("app.log"), "\xef\xbb\xbfa\r\nb\r\n\xff\xfe invalid\r\n")
	h.start()
	h.check([]string{"a", "b", "\xff\xfe invalid"})
}

func TestTailer_BlankLines(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app.log")
	write(t, h.path("app.log"), "a\n\n  \r\n\x00\x00\x00\nb\n \t\n")
	h.start()
	h.check([]string{"a", "b"})
	b := h.got()[1].Source
	if b.Offset != 11 || b.End != 13 {
		t.Fatalf("b at %d..%d, want 11..13", b.Offset, b.End)
	}
	write(t, h.path("app.log"), "\x00\x00c\n")
	h.check([]string{"a", "b", "c"})
}

func TestTailer_RestartResume(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app.log")
	write(t, h.path("app.log"), "a\nb\n")
	h.ackIf = func(l Line) bool { return string(l.Text) != "b" } // b stays unacked
	h.start()
	h.check([]string{"a", "b"})
	h.restart()
	write(t, h.path("app.log"), "c\n")
	// b is delivered again (at least once), a is not.
	h.check([]string{"a", "b", "b", "c"})
	h.ackIf = nil
	h.restart()
	write(t, h.path("app.log"), "d\n")
	h.check([]string{"a", "b", "b", "c", "d"})
}

func TestTailer_StartAtEnd(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "*.log")
	h.cfg.StartAt = "end"
	write(t, h.path("old.log"), "o1\n")
	h.start()
	time.Sleep(5 * h.cfg.ScanInterval)
	write(t, h.path("old.log"), "o2\n")
	write(t, h.path("new.log"), "n1\n") // appeared after start: read from its start
	h.check([]string{"n1"}, []string{"o2"})
}

// A file first seen under StartAt "end" in the middle of a line resumes
// there after a restart, also when the unfinished line grew meanwhile: no
// line end was read, so there is no recorded hash to check, and the offset
// not following a newline is no sign of a replaced file.
func TestTailer_StartAtEndMidLineRestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app.log")
	h.cfg.StartAt = "end"
	write(t, h.path("app.log"), "o1\no2\nunfinished")
	h.start()
	deadline := time.Now().Add(10 * time.Second)
	for len(h.reg.Entries()) == 0 { // opened at its end
		if time.Now().After(deadline) {
			t.Fatal("file not opened")
		}
		time.Sleep(10 * time.Millisecond)
	}
	write(t, h.path("app.log"), "-still")
	time.Sleep(5 * h.cfg.ScanInterval) // read the growth
	h.restart()
	time.Sleep(5 * h.cfg.ScanInterval)
	write(t, h.path("app.log"), "-line\nn1\n")
	h.check([]string{"-still-line", "n1"})
}

// A flushed partial line leaves the acknowledged offset in the middle of a
// line; a restart without FlushPartialAfter resumes there instead of taking
// the file for a replaced one and reading it again.
func TestTailer_FlushedPartialThenRestartWithoutFlush(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app.log")
	h.cfg.FlushPartialAfter = 50 * time.Millisecond
	write(t, h.path("app.log"), "a1\npart")
	h.start()
	h.check([]string{"a1", "part"})
	h.stop()
	h.cfg.FlushPartialAfter = 0
	h.reg = nil
	h.start()
	write(t, h.path("app.log"), "ial\nb1\n")
	h.check([]string{"a1", "part", "ial", "b1"})
}

func TestTailer_Once(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write(t, dir+"/a.log", "a1\na2\n")
	write(t, dir+"/b.log", "b1\n")
	write(t, dir+"/c.gz", "zip\n")
	reg, err := registry.Open(dir+"/registry.json", 0)
	must(t, err)
	cfg := DefaultConfig()
	cfg.Paths = []string{dir + "/**"}
	cfg.Exclude = []string{"*.gz", "registry.json"}
	cfg.Once = true
	cfg.MaxOpenFiles = 1
	tl, err := New("test", cfg, reg, nil)
	must(t, err)
	ch := make(chan []Line, 10)
	must(t, tl.Run(t.Context(), ch))
	close(ch)
	var got []Line
	for chunk := range ch {
		got = append(got, chunk...)
	}
	if diff := cmp.Diff([][]string{{"a1", "a2"}, {"b1"}}, groups(got)); diff != "" {
		t.Fatalf("lines (-want +got):\n%s", diff)
	}
}

func TestTailer_DirectoryAppearsLater(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "**/*.log")
	h.start()
	must(t, os.MkdirAll(h.path("x/y"), 0o755))
	write(t, h.path("x/y/app.log"), "a\n")
	h.check([]string{"a"})
}

func TestTailer_MaxOpenFiles(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "*.log")
	h.cfg.MaxOpenFiles = 1
	h.cfg.CloseInactive = 30 * time.Millisecond
	for _, n := range []string{"a", "b", "c"} {
		write(t, h.path(n+".log"), n+"1\n")
	}
	h.start()
	h.check([]string{"a1"}, []string{"b1"}, []string{"c1"})
	write(t, h.path("b.log"), "b2\n")
	h.check([]string{"a1"}, []string{"b1", "b2"}, []string{"c1"})
}

func TestNew_Validates(t *testing.T) {
	t.Parallel()
	reg, _ := registry.Open(t.TempDir()+"/r.json", 0)
	for _, tc := range []struct {
		name string
		cfg  Config
	}{
		{"no paths", Config{}},
		{"bad glob", Config{Paths: []string{"/x/[a"}}},
		{"bad start_at", Config{Paths: []string{"/x"}, StartAt: "middle"}},
		{"fingerprint too long", Config{Paths: []string{"/x"}, FingerprintBytes: 4096}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := New("test", tc.cfg, reg, nil); err == nil {
				t.Fatal("New succeeded, want an error")
			}
		})
	}
}

// TestTailer_LateAcksAfterTruncation: acks for lines read before a
// truncation arrive after it and must not move the new content's offset.
func TestTailer_LateAcksAfterTruncation(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "app.log")
	h.ackIf = func(l Line) bool { return !strings.HasPrefix(string(l.Text), "a") }
	write(t, h.path("app.log"), "a1-long-line\na2-long-line\n")
	h.start()
	h.check([]string{"a1-long-line", "a2-long-line"})
	must(t, os.Truncate(h.path("app.log"), 0))
	write(t, h.path("app.log"), "b1\n")
	h.check([]string{"a1-long-line", "a2-long-line"}, []string{"b1"})
	for _, l := range h.got()[:2] { // the pipeline acks the old lines late
		h.reg.Ack(l.Source.FileID, l.Source.End)
	}
	b := h.got()[2].Source
	e, ok := h.reg.Get(b.FileID)
	if !ok || e.Offset != b.End {
		t.Fatalf("entry after late acks = %+v, want offset %d", e, b.End)
	}
	h.restart()
	write(t, h.path("app.log"), "b2\n")
	h.check([]string{"a1-long-line", "a2-long-line"}, []string{"b1", "b2"})
}

func TestConfig_Matches(t *testing.T) {
	t.Parallel()
	c := Config{Paths: []string{"/var/log/app/*.log", "/srv/**/audit.log"}, Exclude: []string{"*-debug.log", "/var/log/app/old.log"}}
	for _, tc := range []struct {
		path string
		want bool
	}{
		{"/var/log/app/api.log", true},
		{"/var/log/app/api-debug.log", false}, // base name excluded
		{"/var/log/app/old.log", false},       // full path excluded
		{"/var/log/app/sub/api.log", false},
		{"/srv/a/b/audit.log", true},
		{"/srv/audit.log", true},
		{"/var/log/other/api.log", false},
	} {
		if got := c.Matches(tc.path); got != tc.want {
			t.Errorf("Matches(%q) = %v, want %v", tc.path, got, tc.want)
		}
	}
}

// TestRun_WarnsWhenNothingMatches checks that the first scan warns, once,
// when the globs match no file, and stays quiet when they match one.
func TestRun_WarnsWhenNothingMatches(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		files []string
		warn  bool
	}{
		{"nothing", nil, true},
		{"a file", []string{"a.log"}, false},
	} {
		dir := t.TempDir()
		for _, f := range c.files {
			write(t, filepath.Join(dir, f), "line\n")
		}
		reg, err := registry.Open(filepath.Join(dir, "registry.json"), 0)
		must(t, err)
		var buf bytes.Buffer
		cfg := DefaultConfig()
		cfg.Paths, cfg.Once = []string{filepath.Join(dir, "*.log")}, true
		tl, err := New("in", cfg, reg, slog.New(slog.NewTextHandler(&buf, nil)))
		must(t, err)
		ch := make(chan []Line, 16)
		must(t, tl.Run(context.Background(), ch))
		if n := strings.Count(buf.String(), "no file matches the input's paths yet"); n != map[bool]int{true: 1}[c.warn] {
			t.Errorf("%s: warned %d times:\n%s", c.name, n, buf.String())
		}
	}
}

// ownerReader runs one tailer of *.log in a directory with a shared
// registry and Owners, keeps every line it sends and acknowledges them, or
// holds the acknowledgements back until ackAll.
type ownerReader struct {
	t      *testing.T
	reg    *registry.Registry
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	got     []Line
	hold    bool   // acknowledge nothing until ackAll
	pending []Line // held back
}

func startOwnerReader(t *testing.T, name, dir string, reg *registry.Registry, owners *Owners, hold bool) *ownerReader {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Paths, cfg.ScanInterval, cfg.Owners = []string{filepath.Join(dir, "*.log")}, 10*time.Millisecond, owners
	tl, err := New(name, cfg, reg, nil)
	must(t, err)
	r := &ownerReader{t: t, reg: reg, done: make(chan struct{}), hold: hold}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	ch := make(chan []Line)
	go func() {
		defer close(r.done)
		var wg sync.WaitGroup
		wg.Go(func() {
			for chunk := range ch {
				r.mu.Lock()
				r.got = append(r.got, chunk...)
				if r.hold {
					r.pending = append(r.pending, chunk...)
				} else {
					r.ack(chunk)
				}
				r.mu.Unlock()
			}
		})
		if err := tl.Run(ctx, ch); err != nil {
			t.Errorf("%s: Run: %v", name, err)
		}
		close(ch)
		wg.Wait()
	}()
	t.Cleanup(r.stop)
	return r
}

func (r *ownerReader) ack(ls []Line) {
	for _, l := range ls {
		r.reg.Ack(l.Source.FileID, l.Source.End)
	}
}

// ackAll acknowledges the lines held back, and every later one at once.
func (r *ownerReader) ackAll() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ack(r.pending)
	r.hold, r.pending = false, nil
}

// stop ends Run and waits for it; it may be called more than once.
func (r *ownerReader) stop() {
	r.cancel()
	<-r.done
}

func (r *ownerReader) lines() []Line {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.got)
}

// wait waits until at least n lines were sent.
func (r *ownerReader) wait(n int) {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(r.lines()) < n {
		if time.Now().After(deadline) {
			r.t.Fatalf("read %d lines, want %d", len(r.lines()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOwners_OneReaderPerFile runs two tailers whose globs match the same
// file and that share Owners. The first reads the file and holds back its
// acknowledgements, so that the registry still says offset 0 when the
// second one scans: that one must leave the file alone rather than read it
// again. When the first stops, the second goes on from the offset
// acknowledged in the shared registry: every line is read once.
func TestOwners_OneReaderPerFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "a.log")
	write(t, p, lines("x", 100))
	reg, err := registry.Open(filepath.Join(dir, "registry.json"), 0)
	must(t, err)
	owners := &Owners{}

	first := startOwnerReader(t, "first", dir, reg, owners, true)
	first.wait(100)
	second := startOwnerReader(t, "second", dir, reg, owners, false)
	time.Sleep(200 * time.Millisecond) // twenty scans of the second tailer
	if n := len(second.lines()); n != 0 {
		t.Fatalf("the second tailer read %d lines of a file the first one reads", n)
	}
	first.ackAll()
	first.stop()
	write(t, p, lines("y", 50))
	second.wait(50)
	time.Sleep(100 * time.Millisecond)
	second.stop()
	if n := len(first.lines()); n != 100 {
		t.Errorf("the first tailer read %d lines, want 100", n)
	}
	if diff := cmp.Diff(strings.Split(strings.TrimSuffix(lines("y", 50), "\n"), "\n"), texts(second.lines())); diff != "" {
		t.Errorf("the second tailer's lines (-want +got):\n%s", diff)
	}
}

// TestOwners_StoppedReaderHandsOverAfterAcks stops a tailer whose lines are
// not yet acknowledged (a reload removed its input while its lines were in
// flight): another tailer whose globs match the file must wait until the
// registry acknowledges them, and then go on from there, so that no line is
// read twice.
func TestOwners_StoppedReaderHandsOverAfterAcks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "a.log")
	write(t, p, lines("x", 100))
	reg, err := registry.Open(filepath.Join(dir, "registry.json"), 0)
	must(t, err)
	owners := &Owners{}

	first := startOwnerReader(t, "first", dir, reg, owners, true) // its acknowledgements are held back
	first.wait(100)
	first.stop()
	second := startOwnerReader(t, "second", dir, reg, owners, false)
	time.Sleep(200 * time.Millisecond) // twenty scans
	if n := len(second.lines()); n != 0 {
		t.Fatalf("the second tailer read %d lines before the first one's were acknowledged", n)
	}
	first.ackAll() // now they are delivered
	write(t, p, lines("y", 20))
	second.wait(20)
	time.Sleep(100 * time.Millisecond)
	if diff := cmp.Diff(strings.Split(strings.TrimSuffix(lines("y", 20), "\n"), "\n"), texts(second.lines())); diff != "" {
		t.Errorf("the second tailer's lines (-want +got):\n%s", diff)
	}
}
