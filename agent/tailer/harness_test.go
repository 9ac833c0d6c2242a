package tailer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/auditship/auditship/agent/registry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness runs a Tailer against real files and acks every received line to
// the registry like the pipeline does.
type harness struct {
	t       *testing.T
	dir     string
	regPath string
	cfg     Config
	reg     *registry.Registry
	ackIf   func(Line) bool   // nil: ack everything
	hook    func(os.FileInfo) // nil, or the Tailer's statHook
	tl      *Tailer           // the running tailer, set by start

	mu    sync.Mutex
	lines []Line

	cancel context.CancelFunc
	done   chan struct{}
}

func newHarness(t *testing.T, patterns ...string) *harness {
	t.Helper()
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.ScanInterval = 10 * time.Millisecond
	for _, p := range patterns {
		cfg.Paths = append(cfg.Paths, filepath.Join(dir, p))
	}
	h := &harness{t: t, dir: dir, regPath: filepath.Join(dir, "state", "registry.json"), cfg: cfg}
	t.Cleanup(h.stop)
	return h
}

func (h *harness) path(name string) string { return filepath.Join(h.dir, name) }

func (h *harness) start() {
	h.t.Helper()
	if h.reg == nil {
		reg, err := registry.Open(h.regPath, 0)
		if err != nil {
			h.t.Fatal(err)
		}
		h.reg = reg
	}
	tl, err := New("test", h.cfg, h.reg, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	tl.statHook = h.hook
	h.tl = tl
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan []Line)
	h.cancel, h.done = cancel, make(chan struct{})
	ackIf := h.ackIf
	var wg sync.WaitGroup
	wg.Go(func() {
		for chunk := range ch {
			h.mu.Lock()
			h.lines = append(h.lines, chunk...)
			h.mu.Unlock()
			for _, l := range chunk {
				if ackIf == nil || ackIf(l) {
					h.reg.Ack(l.Source.FileID, l.Source.End)
				}
			}
		}
	})
	go func() {
		defer close(h.done)
		if err := tl.Run(ctx, ch); err != nil {
			h.t.Errorf("Run: %v", err)
		}
		close(ch)
		wg.Wait()
	}()
}

// stop ends Run, waits for the receiver and saves the registry.
func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	<-h.done
	h.cancel = nil
	if err := h.reg.Save(); err != nil {
		h.t.Error(err)
	}
}

// restart stops, reopens the registry from disk and starts again, like a
// process restart.
func (h *harness) restart() {
	h.t.Helper()
	h.stop()
	h.reg = nil
	h.start()
}

func (h *harness) got() []Line {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.lines)
}

// wait polls until n lines arrived, then makes sure no more arrive for a
// few scan intervals.
func (h *harness) wait(n int) []Line {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(h.got()) < n {
		if time.Now().After(deadline) {
			h.t.Fatalf("got %d lines, want %d: %q", len(h.got()), n, texts(h.got()))
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(10 * h.cfg.ScanInterval) // settle: extra lines would show up here
	return h.got()
}

func texts(ls []Line) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = string(l.Text)
	}
	return out
}

// groups returns the texts per FileID in read order, groups sorted by their
// first text.
func groups(ls []Line) [][]string {
	idx := map[string]int{}
	var gs [][]string
	for _, l := range ls {
		i, ok := idx[l.Source.FileID]
		if !ok {
			i = len(gs)
			idx[l.Source.FileID] = i
			gs = append(gs, nil)
		}
		gs[i] = append(gs[i], string(l.Text))
	}
	slices.SortFunc(gs, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	return gs
}

// check waits for the lines of want (one slice per file identity) and
// compares exactly.
func (h *harness) check(want ...[]string) {
	h.t.Helper()
	n := 0
	for _, g := range want {
		n += len(g)
	}
	got := h.wait(n)
	if diff := cmp.Diff(want, groups(got)); diff != "" {
		h.t.Fatalf("lines per file (-want +got):\n%s", diff)
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func lines(prefix string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "%s%d\n", prefix, i)
	}
	return b.String()
}
