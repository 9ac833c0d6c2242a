package tailer

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/agent/registry"
)

// bubble runs a Tailer without fsnotify inside a synctest bubble and returns
// its channel and a stop function.
func bubble(t *testing.T, cfg Config) (<-chan []Line, func()) {
	t.Helper()
	reg, err := registry.Open(filepath.Join(t.TempDir(), "registry.json"), 0)
	must(t, err)
	tl, err := New("test", cfg, reg, nil)
	must(t, err)
	tl.noWatch = true
	ctx, cancel := context.WithCancel(t.Context())
	ch := make(chan []Line, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := tl.Run(ctx, ch); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	return ch, func() { cancel(); <-done }
}

func drain(ch <-chan []Line) []Line {
	var out []Line
	for {
		select {
		case chunk := <-ch:
			out = append(out, chunk...)
		default:
			return out
		}
	}
}

type brief struct {
	Text    string
	Offset  int64
	End     int64
	Partial bool
}

func briefs(ls []Line) []brief {
	var out []brief
	for _, l := range ls {
		out = append(out, brief{string(l.Text), l.Source.Offset, l.Source.End, l.Partial})
	}
	return out
}

func TestTailer_FlushPartialAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "app.log")
		write(t, p, "a\nb")
		cfg := DefaultConfig()
		cfg.Paths = []string{p}
		cfg.FlushPartialAfter = 5 * time.Second
		ch, stop := bubble(t, cfg)
		defer stop()

		time.Sleep(4 * time.Second)
		synctest.Wait()
		if diff := cmp.Diff([]brief{{"a", 0, 2, false}}, briefs(drain(ch))); diff != "" {
			t.Fatalf("before FlushPartialAfter (-want +got):\n%s", diff)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if diff := cmp.Diff([]brief{{"b", 2, 3, true}}, briefs(drain(ch))); diff != "" {
			t.Fatalf("after FlushPartialAfter (-want +got):\n%s", diff)
		}
		write(t, p, "c\n")
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if diff := cmp.Diff([]brief{{"c", 3, 5, false}}, briefs(drain(ch))); diff != "" {
			t.Fatalf("after the partial line (-want +got):\n%s", diff)
		}
	})
}

func TestTailer_NoFlushByDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "app.log")
		write(t, p, "a\nb")
		cfg := DefaultConfig()
		cfg.Paths = []string{p}
		ch, stop := bubble(t, cfg)
		defer stop()
		time.Sleep(time.Hour)
		synctest.Wait()
		if diff := cmp.Diff([]brief{{"a", 0, 2, false}}, briefs(drain(ch))); diff != "" {
			t.Fatalf("lines (-want +got):\n%s", diff)
		}
	})
}

// TestTailer_CloseInactive: a rotated-away file is read, late writes
// included, until it was idle for CloseInactive; a file still matched is
// closed when idle and reopened when it grows.
func TestTailer_CloseInactive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		p := filepath.Join(dir, "app.log")
		write(t, p, "a1\n")
		cfg := DefaultConfig()
		cfg.Paths = []string{p}
		cfg.CloseInactive = time.Minute
		ch, stop := bubble(t, cfg)
		defer stop()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		must(t, os.Rename(p, p+".1"))
		write(t, p, "b1\n")
		time.Sleep(50 * time.Second)
		write(t, p+".1", "a2\n") // late write, 50s after the last data
		time.Sleep(50 * time.Second)
		write(t, p+".1", "a3\n") // 50s after a2: still read
		time.Sleep(2 * time.Minute)
		write(t, p+".1", "a4\n") // idle for 2m: the handle is closed, never read
		write(t, p, "b2\n")      // app.log was closed as idle; it is reopened
		time.Sleep(5 * time.Second)
		synctest.Wait()
		if diff := cmp.Diff([][]string{{"a1", "a2", "a3"}, {"b1", "b2"}}, groups(drain(ch))); diff != "" {
			t.Fatalf("lines per file (-want +got):\n%s", diff)
		}
	})
}
