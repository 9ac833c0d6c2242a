package tailer

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

var seedFlag = flag.Uint64("seed", 0, "seed of TestTailer_Random; 0 picks one")

// TestTailer_Random applies random file actions and restarts and checks the
// lines against a model: every complete line written is delivered at least
// once, and within one file identity in the order written. Destructive
// actions wait until everything written so far was delivered, because lines
// deleted or truncated away before they were read are legitimately lost.
func TestTailer_Random(t *testing.T) {
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	var actions []string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("actions: %s", strings.Join(actions, "; "))
			t.Logf("replay with: go test -run TestTailer_Random ./agent/tailer -args -seed=%d", seed)
		}
	})
	rng := rand.New(rand.NewPCG(seed, seed>>1))
	h := newHarness(t, "app.log*")
	h.cfg.MaxLineBytes = 64
	app := h.path("app.log")

	var (
		seq     int
		all     []string // every complete line written
		partial string   // started, not yet finished line in app.log
		rotated []string // rotated files still on disk
		nextRot int
	)
	newLine := func() string { seq++; return fmt.Sprintf("L%06d", seq) }
	finishPartial := func() {
		if partial != "" {
			write(t, app, "-end\n")
			all = append(all, partial+"-end")
			partial = ""
		}
	}
	sync := func() {
		t.Helper()
		finishPartial()
		h.waitAll(all)
	}
	h.start()
	const steps = 120
	for step := range steps {
		r := rng.IntN(100)
		actions = append(actions, fmt.Sprintf("%d@%d", r, seq))
		switch {
		case r < 40: // write whole lines
			finishPartial()
			var b strings.Builder
			for range 1 + rng.IntN(5) {
				l := newLine()
				all = append(all, l)
				b.WriteString(l + "\n")
			}
			write(t, app, b.String())
		case r < 50: // start a line, finish it later
			finishPartial()
			partial = newLine()
			write(t, app, partial)
		case r < 62: // rename rotation, sometimes with a late write
			finishPartial()
			if _, err := os.Stat(app); err != nil {
				continue
			}
			nextRot++
			rot := app + "." + strconv.Itoa(nextRot)
			must(t, os.Rename(app, rot))
			rotated = append(rotated, rot)
			if rng.IntN(2) == 0 {
				l := newLine()
				all = append(all, l)
				write(t, rot, l+"\n")
			}
		case r < 70: // copytruncate
			sync()
			b, err := os.ReadFile(app)
			if err != nil {
				continue
			}
			nextRot++
			rot := app + "." + strconv.Itoa(nextRot)
			must(t, os.WriteFile(rot, b, 0o600))
			rotated = append(rotated, rot)
			must(t, os.Truncate(app, 0))
		case r < 76: // plain truncation
			sync()
			if err := os.Truncate(app, 0); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		case r < 84: // delete app.log (recreated by the next write) or a rotated file
			sync()
			if len(rotated) > 0 && rng.IntN(2) == 0 {
				i := rng.IntN(len(rotated))
				must(t, os.Remove(rotated[i]))
				rotated = append(rotated[:i], rotated[i+1:]...)
			} else if err := os.Remove(app); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
		case r < 92: // an oversize line
			finishPartial()
			l := newLine()
			all = append(all, l) // the first MaxLineBytes bytes start with l
			write(t, app, l+strings.Repeat("x", 100)+"\n")
		default:
			h.restart()
		}
		if t.Failed() {
			t.Fatalf("failed at step %d", step)
		}
	}
	sync()
	h.stop()

	// Order within each file identity follows the sequence numbers.
	last := map[string]int{}
	for _, l := range h.got() {
		text := string(l.Text)
		if len(text) < 7 {
			t.Fatalf("unexpected line %q", text)
		}
		n, err := strconv.Atoi(strings.TrimPrefix(text[:7], "L"))
		if err != nil {
			t.Fatalf("unexpected line %q", l.Text)
		}
		if n <= last[l.Source.FileID] {
			t.Fatalf("file %s: line %d after %d", l.Source.FileID, n, last[l.Source.FileID])
		}
		last[l.Source.FileID] = n
	}
	t.Logf("seed %d: %d lines written, %d delivered", seed, len(all), len(h.got()))
}

// waitAll polls until every text in want was delivered at least once; an
// oversize line counts when a delivered text starts with it.
func (h *harness) waitAll(want []string) {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		have := map[string]bool{}
		for _, l := range h.got() {
			s := string(l.Text)
			if len(s) > 7 && s[7] == 'x' {
				s = s[:7]
			}
			have[s] = true
		}
		var missing []string
		for _, w := range want {
			if !have[w] {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("lines never delivered: %q", missing)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
