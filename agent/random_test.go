package agent_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"
	"testing"
)

var seedFlag = flag.Uint64("seed", 0, "run TestRandom_Agent with only this seed (replays a failure)")

// TestRandom_Agent drives the auditship binary with seeded random sequences
// of write, partial write, rotate, copytruncate, truncate, delete, recreate,
// restart (SIGTERM) and kill (SIGKILL), and checks the store against a model
// of what was written: every audit line exactly once.
//
// Actions that throw content away (copytruncate, truncate, delete) are only
// done once the agent is running and has stored everything written: lines
// written and then truncated or deleted before any reader saw them are lost
// by design, and copytruncate loses the lines written between the copy and
// the truncation (see package tailer's known limits). Rotation renames to
// names the glob still matches, so nothing rotated while the agent is down
// is out of its sight. Every other action happens at any time, also while
// the agent is stopped.
//
// The default run is a few seeds; AUDITSHIP_LONG=1 runs more. A failure
// prints its seed; -seed=N replays it.
func TestRandom_Agent(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	steps := 40
	if longRun() {
		seeds = nil
		for s := uint64(1); s <= 24; s++ {
			seeds = append(seeds, s)
		}
		steps = 80
	}
	if *seedFlag != 0 {
		seeds = []uint64{*seedFlag}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			var trace []string
			defer func() {
				if t.Failed() {
					t.Logf("actions:\n%s", strings.Join(trace, "\n"))
					t.Logf("replay: go test -race -run 'TestRandom_Agent' -seed=%d ./agent/", seed)
				}
			}()
			runRandom(t, seed, steps, &trace)
		})
	}
}

// stream is the model of one log name: its current file and the second
// half of a line whose first half was written.
type stream struct {
	name    string
	cur     *logFile // nil while deleted
	rest    []byte   // rest of a partly written line; already counted as written
	archive int
}

func runRandom(t *testing.T, seed uint64, steps int, trace *[]string) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	e := newEnv(t, envOptions{paths: []string{"logs/*.log*"}, batchEvents: 20})
	streams := make([]*stream, 3)
	for i := range streams {
		s := &stream{name: fmt.Sprintf("logs/s%d.log", i)}
		s.cur = e.newFile(s.name)
		streams[i] = s
	}
	var p *proc
	start := func() {
		if p == nil {
			p = e.startProc(0)
			// A signal before the handler is installed would kill it
			// abruptly (see the report on cmd/auditship).
			p.waitStarted(t)
		}
	}
	// complete writes the rest of a partly written line.
	complete := func(s *stream) {
		if len(s.rest) > 0 {
			e.appendRaw(s.cur.path, s.rest)
			s.rest = nil
		}
	}
	// quiesce completes partial lines and waits until the agent stored
	// everything written.
	quiesce := func() {
		start()
		for _, s := range streams {
			if s.cur != nil {
				complete(s)
			}
		}
		e.waitStored(catchUp)
	}
	logf := func(format string, args ...any) {
		*trace = append(*trace, fmt.Sprintf("%3d ", len(*trace))+fmt.Sprintf(format, args...))
	}

	for range steps {
		s := streams[rng.IntN(len(streams))]
		switch r := rng.IntN(100); {
		case r < 35: // write
			if s.cur == nil {
				s.cur = e.newFile(s.name)
				logf("recreate %s (to write)", s.name)
			}
			complete(s)
			n := 1 + rng.IntN(40)
			e.write(s.cur, n)
			logf("write %d lines to %s", n, s.name)
		case r < 45: // partial write
			if s.cur == nil || len(s.rest) > 0 {
				continue
			}
			line := e.lines(s.cur, 1, lineOpts{})
			cut := 1 + rng.IntN(len(line)-1)
			e.appendRaw(s.cur.path, line[:cut])
			s.rest = line[cut:]
			logf("partial write of %d of %d bytes to %s", cut, len(line), s.name)
		case r < 55: // rotate by rename
			if s.cur == nil {
				continue
			}
			complete(s)
			s.archive++
			e.rename(s.cur, fmt.Sprintf("%s.%d", s.name, s.archive))
			s.cur = e.newFile(s.name)
			logf("rotate %s to .%d", s.name, s.archive)
		case r < 60: // copytruncate
			if s.cur == nil {
				continue
			}
			quiesce()
			b, err := os.ReadFile(s.cur.path)
			if err != nil {
				t.Fatal(err)
			}
			s.archive++
			if err := os.WriteFile(e.path(fmt.Sprintf("%s.%d", s.name, s.archive)), b, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Truncate(s.cur.path, 0); err != nil {
				t.Fatal(err)
			}
			s.cur = e.track(s.name)
			logf("copytruncate %s to .%d", s.name, s.archive)
		case r < 65: // truncate
			if s.cur == nil {
				continue
			}
			quiesce()
			if err := os.Truncate(s.cur.path, 0); err != nil {
				t.Fatal(err)
			}
			s.cur = e.track(s.name)
			logf("truncate %s", s.name)
		case r < 70: // delete
			if s.cur == nil {
				continue
			}
			quiesce()
			if err := os.Remove(s.cur.path); err != nil {
				t.Fatal(err)
			}
			s.cur = nil
			logf("delete %s", s.name)
		case r < 75: // recreate
			if s.cur != nil {
				continue
			}
			s.cur = e.newFile(s.name)
			logf("recreate %s", s.name)
		case r < 88: // restart
			if p == nil {
				start()
				logf("start")
				continue
			}
			if err := p.signal(t, syscall.SIGTERM); err != nil {
				t.Fatalf("exit after SIGTERM: %v", err)
			}
			p = nil
			logf("stop (SIGTERM)")
		default: // kill
			if p == nil {
				start()
				logf("start")
				continue
			}
			_ = p.signal(t, syscall.SIGKILL)
			p = nil
			logf("kill -9")
		}
	}
	quiesce()
	if err := p.signal(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
	e.check()
	e.noDeadLetters()
	t.Logf("seed %d: %d actions, %d audit lines", seed, len(*trace), e.written())
}
