package agent_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Each TestScenario_ runs the real agent against real files in a temporary
// directory and then checks the store: every audit line written is stored
// exactly once, per file in the order written, and nothing else; the event
// ids are unique; nothing was dead-lettered unless the scenario expects it.

const catchUp = 60 * time.Second

// longRun reports whether the long variants were asked for.
func longRun() bool { return os.Getenv("AUDITSHIP_LONG") == "1" }

func TestScenario_RenameRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	a := e.start()
	lf := e.newFile("logs/app.log")
	e.write(lf, 50)
	e.waitStored(catchUp)
	e.rename(lf, "logs/app.log.1")
	nf := e.newFile("logs/app.log")
	e.write(nf, 50)
	e.waitStored(catchUp)
	a.stop(t)
	// A restart reads nothing again.
	a = e.start()
	e.write(nf, 10)
	e.waitStored(catchUp)
	a.stop(t)
	e.check()
	e.noDeadLetters()
}

// TestScenario_RenameRotationUnderBurst rotates in the middle of a burst
// written as fast as possible, with late writes to the renamed file. The
// burst is 10 MB under the race detector and the 100 MB of the issue with
// AUDITSHIP_LONG=1, which make test runs without -race (make test-long).
func TestScenario_RenameRotationUnderBurst(t *testing.T) {
	t.Parallel()
	total := 10 << 20
	if longRun() {
		total = 100 << 20
	}
	e := newEnv(t, envOptions{batchEvents: 1000})
	a := e.start()
	lf := e.newFile("logs/app.log")
	// The agent must know the file before it is renamed out of the glob.
	e.write(lf, 1)
	e.waitStored(catchUp)
	f, err := os.OpenFile(lf.path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	const perChunk = 64
	o := lineOpts{pad: 8000} // long lines: fewer events per MB, or -race takes minutes
	chunkBytes := len(e.lines(&logFile{id: "probe"}, 1, o))
	e.mu.Lock()
	delete(e.want, "probe")
	e.mu.Unlock()
	chunks := total / (chunkBytes * perChunk)
	for i := range chunks {
		if _, err := f.Write(e.lines(lf, perChunk, o)); err != nil {
			t.Fatal(err)
		}
		if i == chunks/2 {
			old := e.rename(lf, "logs/app.log.1")
			// The writer has not reopened yet: late lines go to the
			// renamed file.
			for range 3 {
				if _, err := f.Write(e.lines(old, perChunk, o)); err != nil {
					t.Fatal(err)
				}
			}
			_ = f.Close()
			lf = e.newFile("logs/app.log")
			if f, err = os.OpenFile(lf.path, os.O_APPEND|os.O_WRONLY, 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	_ = f.Close()
	t.Logf("wrote %d audit lines, %d MiB", e.written(), total>>20)
	e.waitStored(3 * catchUp)
	a.stop(t)
	e.check()
	e.noDeadLetters()
}

// TestScenario_TwoQuickRotations rotates twice before the agent may have
// seen the middle file under its live name. The glob matches the rotated
// names, as it must for this: a file that lives under a matched name for
// less than one scan and is then renamed out of the glob is never seen.
func TestScenario_TwoQuickRotations(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{paths: []string{"logs/app.log*"}})
	a := e.start()
	lf := e.newFile("logs/app.log")
	e.write(lf, 20)
	e.waitStored(catchUp)
	e.write(lf, 20)
	one := e.rename(lf, "logs/app.log.1")
	lf = e.newFile("logs/app.log")
	e.write(lf, 20)
	e.rename(one, "logs/app.log.2")
	e.rename(lf, "logs/app.log.1")
	lf = e.newFile("logs/app.log")
	e.write(lf, 20)
	e.waitStored(catchUp)
	a.stop(t)
	e.check()
	e.noDeadLetters()
}

func TestScenario_RotationToMatchingName(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	a := e.start()
	lf := e.newFile("logs/app.log")
	e.write(lf, 30)
	e.waitStored(catchUp)
	old := e.rename(lf, "logs/app-1.log")
	nf := e.newFile("logs/app.log")
	e.write(nf, 30)
	e.write(old, 10)
	e.waitStored(catchUp)
	a.stop(t)
	a = e.start()
	e.write(nf, 10)
	e.write(old, 5)
	e.waitStored(catchUp)
	a.stop(t)
	e.check()
	e.noDeadLetters()
}

func TestScenario_LateWriteIntoRenamedFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	a := e.start()
	lf := e.newFile("logs/app.log")
	f, err := os.OpenFile(lf.path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	write := func(lf *logFile, n int) {
		if _, err := f.Write(e.lines(lf, n, lineOpts{noise: true})); err != nil {
			t.Fatal(err)
		}
	}
	write(lf, 20)
	e.waitStored(catchUp)
	old := e.rename(lf, "logs/app.log.1")
	nf := e.newFile("logs/app.log")
	e.write(nf, 10)
	e.waitStored(catchUp)
	write(old, 20) // the writer has not reopened yet
	e.write(nf, 10)
	e.waitStored(catchUp)
	a.stop(t)
	e.check()
	e.noDeadLetters()
}

// TestScenario_CopyTruncate copies the file to a name the glob also matches,
// then truncates it. The copy's lines have the ids of the original's, so
// nothing is stored twice. The copy happens once the agent caught up: lines
// written between the copy and the truncation are lost by any reader (see
// package tailer's known limits).
func TestScenario_CopyTruncate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{paths: []string{"logs/app.log*"}})
	a := e.start()
	lf := e.newFile("logs/app.log")
	e.write(lf, 30)
	e.waitStored(catchUp)
	b, err := os.ReadFile(lf.path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.path("logs/app.log.1"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(lf.path, 0); err != nil {
		t.Fatal(err)
	}
	lf = e.track("logs/app.log")
	e.write(lf, 10)
	e.waitStored(catchUp)
	// Twice more, the second time with more content than before.
	for _, n := range []int{5, 80} {
		b, err := os.ReadFile(lf.path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(e.path("logs/app.log.1"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(lf.path, 0); err != nil {
			t.Fatal(err)
		}
		lf = e.track("logs/app.log")
		e.write(lf, n)
		e.waitStored(catchUp)
	}
	a.stop(t)
	e.check()
	e.noDeadLetters()
}

func TestScenario_TruncateThenLongerRewrite(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	a := e.start()
	lf := e.newFile("logs/app.log")
	e.write(lf, 10)
	e.waitStored(catchUp)
	// Truncate and at once write more than there was: the size never looks
	// smaller to the agent, only the first bytes differ.
	lf = e.newFile("logs/app.log")
	e.write(lf, 40)
	e.waitStored(catchUp)
	a.stop(t)
	e.check()
	e.noDeadLetters()
}

func TestScenario_TruncationWhileStopped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	a := e.start()
	shorter := e.newFile("logs/shorter.log")
	longer := e.newFile("logs/longer.log")
	e.write(shorter, 30)
	e.write(longer, 30)
	e.waitStored(catchUp)
	a.stop(t)
	shorter = e.newFile("logs/shorter.log")
	e.write(shorter, 5)
	longer = e.newFile("logs/longer.log")
	e.write(longer, 90)
	a = e.start()
	e.waitStored(catchUp)
	a.stop(t)
	e.check()
	e.noDeadLetters()
}

// reuseInode deletes lf and creates the file name, on lf's inode when the
// file system hands it out again within a few tries. It reports whether the
// inode was reused.
func reuseInode(t *testing.T, e *env, lf *logFile, name string) (*logFile, bool) {
	t.Helper()
	ino := inodeOf(t, lf.path)
	if err := os.Remove(lf.path); err != nil {
		t.Fatal(err)
	}
	var tmps []string
	defer func() {
		for _, p := range tmps {
			_ = os.Remove(p)
		}
	}()
	for i := range 50 {
		p := e.path(fmt.Sprintf("logs/cand-%d.tmp", i))
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if inodeOf(t, p) == ino {
			if err := os.Rename(p, e.path(name)); err != nil {
				t.Fatal(err)
			}
			return e.track(name), true
		}
		tmps = append(tmps, p)
	}
	return e.newFile(name), false
}

func inodeOf(t *testing.T, p string) uint64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Sys().(*syscall.Stat_t).Ino
}

func TestScenario_InodeReuseAfterDelete(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	a := e.start()
	lf := e.newFile("logs/a.log")
	e.write(lf, 20)
	e.waitStored(catchUp)
	// While running.
	nf, reused := reuseInode(t, e, lf, "logs/b.log")
	t.Logf("inode reused while running: %v", reused)
	e.write(nf, 30)
	e.waitStored(catchUp)
	// While stopped, with more content than the old offset.
	a.stop(t)
	nf2, reused := reuseInode(t, e, nf, "logs/c.log")
	t.Logf("inode reused while stopped: %v", reused)
	e.write(nf2, 60)
	a = e.start()
	e.waitStored(catchUp)
	a.stop(t)
	e.check()
	e.noDeadLetters()
}

func TestScenario_SymlinkRetarget(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{paths: []string{"logs/current.log"}})
	a := e.start()
	ta := e.newFile("targets/a.log")
	tb := e.newFile("targets/b.log")
	if err := os.Symlink("../targets/a.log", e.path("logs/current.log")); err != nil {
		t.Fatal(err)
	}
	e.write(ta, 20)
	e.waitStored(catchUp)
	if err := os.Symlink("../targets/b.log", e.path("logs/next.tmp")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(e.path("logs/next.tmp"), e.path("logs/current.log")); err != nil {
		t.Fatal(err)
	}
	e.write(tb, 20)
	e.write(ta, 5) // late write to the old target
	e.waitStored(catchUp)
	a.stop(t)
	e.check()
	e.noDeadLetters()
}

func TestScenario_LinkAndTargetBothMatched(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	a := e.start()
	lf := e.newFile("logs/real.log")
	if err := os.Symlink("real.log", e.path("logs/link.log")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(lf.path, e.path("logs/hard.log")); err != nil {
		t.Fatal(err)
	}
	e.write(lf, 30)
	e.waitStored(catchUp)
	e.write(lf, 30)
	e.waitStored(catchUp)
	a.stop(t)
	a = e.start()
	e.write(lf, 10)
	e.waitStored(catchUp)
	a.stop(t)
	e.check()
	e.noDeadLetters()
}

func TestScenario_DeleteWhileReadingLargeFile(t *testing.T) {
	t.Parallel()
	// A small queue so that the agent is still reading when the file goes.
	e := newEnv(t, envOptions{maxInflight: 64, batchEvents: 50})
	lf := e.newFile("logs/big.log")
	e.appendRaw(lf.path, e.lines(lf, 3000, lineOpts{pad: 2000}))
	a := e.start()
	e.waitCount(100, catchUp)
	if err := os.Remove(lf.path); err != nil {
		t.Fatal(err)
	}
	if n := e.present(e.events()); n >= e.written() {
		t.Logf("the agent read the whole file before it was deleted")
	}
	e.waitStored(2 * catchUp)
	a.stop(t)
	e.check()
	e.noDeadLetters()
}

func TestScenario_DeleteAndRecreate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	a := e.start()
	lf := e.newFile("logs/app.log")
	e.write(lf, 20)
	e.waitStored(catchUp)
	if err := os.Remove(lf.path); err != nil {
		t.Fatal(err)
	}
	lf = e.newFile("logs/app.log")
	e.write(lf, 20)
	e.waitStored(catchUp)
	a.stop(t)
	// While stopped.
	if err := os.Remove(lf.path); err != nil {
		t.Fatal(err)
	}
	lf = e.newFile("logs/app.log")
	e.write(lf, 40)
	a = e.start()
	e.waitStored(catchUp)
	a.stop(t)
	e.check()
	e.noDeadLetters()
}

// TestScenario_PartialLineCompletedLater writes half a line, waits 3s (the
// wait is the scenario, not synchronisation) and completes it: one event, no
// dead letter.
func TestScenario_PartialLineCompletedLater(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	a := e.start()
	lf := e.newFile("logs/app.log")
	e.write(lf, 10)
	line := e.lines(lf, 1, lineOpts{})
	e.appendRaw(lf.path, line[:len(line)/2])
	e.waitCount(10, catchUp)
	time.Sleep(3 * time.Second)
	e.appendRaw(lf.path, line[len(line)/2:])
	e.write(lf, 5)
	e.waitStored(catchUp)
	a.stop(t)
	e.check()
	e.noDeadLetters()
}

// TestScenario_LongLines: a 64 KiB line passes whole; a 4 MiB line (over the
// default max_line_bytes of 1 MiB) goes to the dead-letter file with its
// source path and offset, and the lines around it are stored.
func TestScenario_LongLines(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	lf := e.newFile("logs/app.log")
	e.write(lf, 5)
	e.appendRaw(lf.path, e.lines(lf, 1, lineOpts{pad: 64 << 10}))
	e.write(lf, 5)
	fi, err := os.Stat(lf.path)
	if err != nil {
		t.Fatal(err)
	}
	hugeAt := fi.Size()
	huge := fmt.Sprintf(`{"ts":"2026-01-02T03:00:00Z","msg":"audit","pad":%q,"details":{"file":"huge","seq":1}}`+"\n", strings.Repeat("y", 4<<20))
	e.appendRaw(lf.path, []byte(huge))
	e.write(lf, 5)
	a := e.start()
	e.waitStored(catchUp)
	a.stop(t)
	e.check()
	dl := e.deadLetters()
	if len(dl) != 1 {
		t.Fatalf("dead-letter file has %d records, want 1: %+v", len(dl), dl)
	}
	if dl[0].Path != lf.path || dl[0].Offset != hugeAt || !strings.Contains(dl[0].Reason, "max_line_bytes") {
		t.Errorf("dead letter = %s at %d (%s), want %s at %d, over max_line_bytes", dl[0].Path, dl[0].Offset, dl[0].Reason, lf.path, hugeAt)
	}
	if raw, _ := dl[0].Raw(); !bytes.HasPrefix([]byte(huge), raw) || len(raw) == 0 {
		t.Errorf("dead letter line is not a prefix of the long line (%d bytes)", len(raw))
	}
}

func TestScenario_BOMAndCRLF(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	lf := e.newFile("logs/app.log")
	e.appendRaw(lf.path, append([]byte("\xef\xbb\xbf"), e.lines(lf, 10, lineOpts{eol: "\r\n", noise: true})...))
	a := e.start()
	e.waitStored(catchUp)
	e.appendRaw(lf.path, e.lines(lf, 10, lineOpts{eol: "\r\n"}))
	e.waitStored(catchUp)
	a.stop(t)
	e.check()
	e.noDeadLetters()
}

func TestScenario_BlankLines(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	lf := e.newFile("logs/app.log")
	var b bytes.Buffer
	b.WriteString("\n\n  \n")
	for i := range 20 {
		b.Write(e.lines(lf, 1, lineOpts{}))
		b.WriteString([]string{"\n", "   \n", "\t\r\n", "\r\n", "\x00\n"}[i%5])
	}
	e.appendRaw(lf.path, b.Bytes())
	a := e.start()
	e.waitStored(catchUp)
	a.stop(t)
	e.check()
	e.noDeadLetters()
}

// TestScenario_DottedKeys writes lines whose details come partly from a
// dotted top-level key ("details.seq"), which the json parser expands by
// default: the agent decodes such a line whole (the others only at the
// mapping's paths) and stores every line's details the same.
func TestScenario_DottedKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	lf := e.newFile("logs/app.log")
	seq := regexp.MustCompile(`"details":\{("file":"[^"]*"),"seq":(\d+)\}`)
	var b bytes.Buffer
	for i, l := range bytes.SplitAfter(e.lines(lf, 20, lineOpts{noise: true}), []byte("\n")) {
		if i%2 == 0 {
			l = seq.ReplaceAll(l, []byte(`"details.seq":${2},"details":{$1}`))
		}
		b.Write(l)
	}
	if !bytes.Contains(b.Bytes(), []byte(`"details.seq":`)) {
		t.Fatalf("no dotted key written:\n%s", b.Bytes())
	}
	e.appendRaw(lf.path, b.Bytes())
	a := e.start()
	e.waitStored(catchUp)
	a.stop(t)
	e.check()
	e.noDeadLetters()
}

// TestScenario_ThousandFilesLowFDLimit runs the binary under ulimit -n 256
// with 1000 matched files, more than it may have open.
func TestScenario_ThousandFilesLowFDLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	files := make([]*logFile, 1000)
	for i := range files {
		files[i] = e.newFile(fmt.Sprintf("logs/f%04d.log", i))
		e.write(files[i], 3)
	}
	p := e.startProc(256)
	e.waitStored(2 * catchUp)
	for i := 0; i < len(files); i += 7 {
		e.write(files[i], 2)
	}
	e.waitStored(2 * catchUp)
	if err := p.signal(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	e.check()
	e.noDeadLetters()
}

func TestScenario_AppendedAndNewFileWhileStopped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	a := e.start()
	lf := e.newFile("logs/a.log")
	e.write(lf, 20)
	e.waitStored(catchUp)
	a.stop(t)
	e.write(lf, 20)
	nf := e.newFile("logs/b.log")
	e.write(nf, 20)
	a = e.start()
	e.waitStored(catchUp)
	a.stop(t)
	e.check()
	e.noDeadLetters()
}

// TestScenario_RotatedWhileStopped is logrotate's create flow during a
// restart: lines appended while the agent is down to a file that is then
// renamed to a name the globs do not match are read from the rotated file.
func TestScenario_RotatedWhileStopped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{inputExtra: `exclude = ["*.[0-9]"]`})
	a := e.start()
	lf := e.newFile("logs/workers.log")
	e.write(lf, 20)
	e.waitStored(catchUp)
	a.stop(t)
	e.write(lf, 50)
	e.rename(lf, "logs/workers.log.1")
	nf := e.newFile("logs/workers.log")
	e.write(nf, 50)
	a = e.start()
	e.waitStored(catchUp)
	a.stop(t)
	if !strings.Contains(e.logBuf.tail(1<<20), "rotated file found") {
		t.Error(`no "rotated file found" in the agent log`)
	}
	// A restart reads nothing again.
	a = e.start()
	e.write(nf, 10)
	e.waitStored(catchUp)
	a.stop(t)
	e.check()
	e.noDeadLetters()
}

// midStream stops the binary with sig in the middle of a stream with
// rename rotations, rounds times, and checks everything arrived once. The
// rotated names stay matched by the glob, so lines rotated while the agent
// is down are still found.
func midStream(t *testing.T, sig syscall.Signal, rounds int) {
	e := newEnv(t, envOptions{paths: []string{"logs/app.log*"}, batchEvents: 50})
	lf := e.newFile("logs/app.log")
	archive := 0
	for r := range rounds {
		before := e.present(e.events())
		p := e.startProc(0)
		stopAt := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			defer func() {
				select {
				case <-stopAt:
				default:
					close(stopAt)
				}
			}()
			for i := range 30 {
				e.write(lf, 10)
				if i%10 == 9 {
					archive++
					e.rename(lf, fmt.Sprintf("logs/app.log.%d", archive))
					lf = e.newFile("logs/app.log")
				}
				if i == 15 {
					close(stopAt)
				}
				time.Sleep(3 * time.Millisecond)
			}
		})
		<-stopAt
		e.waitCount(before+1, catchUp) // the agent is shipping
		err := p.signal(t, sig)
		if sig == syscall.SIGTERM && err != nil {
			t.Fatalf("round %d: exit after SIGTERM: %v", r, err)
		}
		wg.Wait()
	}
	p := e.startProc(0)
	e.waitStored(2 * catchUp)
	if err := p.signal(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	e.check()
	e.noDeadLetters()
	if n, err := filepath.Glob(e.path("logs/app.log*")); err == nil {
		t.Logf("%d rounds, %d files, %d audit lines", rounds, len(n), e.written())
	}
}

func TestScenario_SIGTERMMidStream(t *testing.T) {
	t.Parallel()
	midStream(t, syscall.SIGTERM, 10)
}

func TestScenario_KillMidStream(t *testing.T) {
	t.Parallel()
	midStream(t, syscall.SIGKILL, 10)
}
