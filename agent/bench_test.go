package agent_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditship/auditship/agent"
	"github.com/auditship/auditship/agent/registry"
	"github.com/auditship/auditship/agent/tailer"
)

// BenchmarkBackpressureMemory reads a large file into an output much slower
// than the reader and reports the peak resident memory of the process, which
// must stay under 64 MiB: the bounded queues make the tailer wait for the
// output instead of buffering the file.
//
// The slow output is the embedded store with small batches, so that every
// few events cost a synchronous commit (fsync). The benchmark also reads the
// same file with a bare tailer to measure the reader's speed and reports the
// ratio.
//
// Environment:
//   - AUDITSHIP_BENCH_BYTES: file size in bytes (default 1e8; 1e9 for the
//     1 GB case of issue 3).
//   - AUDITSHIP_BENCH_BATCH: pipeline batch_events (default 10).
//   - AUDITSHIP_BENCH_LINE_BYTES: bytes per line (default 1024).
//
// Run without -race (which multiplies memory use):
//
//	go test -run '^$' -bench BackpressureMemory -benchtime 1x ./agent/
func BenchmarkBackpressureMemory(b *testing.B) {
	size := envFloat(b, "AUDITSHIP_BENCH_BYTES", 1e8)
	batch := int(envFloat(b, "AUDITSHIP_BENCH_BATCH", 10))
	lineBytes := int(envFloat(b, "AUDITSHIP_BENCH_LINE_BYTES", 1024))
	defer debug.SetGCPercent(debug.SetGCPercent(100)) // restore after TuneGC
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	agent.TuneGC() // as the auditship binary does
	for b.Loop() {
		e := newEnv(b, envOptions{batchEvents: batch})
		path := e.path("logs/big.log")
		lines := writeBenchFile(b, path, int64(size), lineBytes)

		readDur := benchReader(b, path)

		resetPeakRSS()
		var peak sampler
		peak.start()
		t0 := time.Now()
		a := e.start()
		deadline := time.Now().Add(time.Hour)
		for a.stats.Shipped.Load() < int64(lines) {
			if d := a.stats.DeadLettered.Load(); d > 0 {
				b.Fatalf("%d lines dead-lettered; see %s", d, e.dataDir())
			}
			if time.Now().After(deadline) {
				b.Fatalf("shipped %d of %d events in an hour", a.stats.Shipped.Load(), lines)
			}
			time.Sleep(20 * time.Millisecond)
		}
		agentDur := time.Since(t0)
		a.stop(b)
		rss := peak.stop()

		mb := size / 1e6
		b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MiB")
		b.ReportMetric(mb/readDur.Seconds(), "reader-MB/s")
		b.ReportMetric(mb/agentDur.Seconds(), "agent-MB/s")
		b.ReportMetric(agentDur.Seconds()/readDur.Seconds(), "slowdown-x")
		if rss > 64<<20 {
			b.Errorf("peak RSS %.1f MiB, want < 64 MiB", float64(rss)/(1<<20))
		}
	}
}

func envFloat(b *testing.B, name string, def float64) float64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		b.Fatalf("%s=%q: want a positive number", name, s)
	}
	return f
}

// writeBenchFile writes about size bytes of audit lines of lineBytes bytes
// to path and returns how many lines it wrote.
func writeBenchFile(b *testing.B, path string, size int64, lineBytes int) int {
	b.Helper()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	proto := `{"ts":"2026-01-02T03:04:05.000000Z","msg":"audit","pad":"","details":{"file":"big","seq":1000000000}}` + "\n"
	pad := strings.Repeat("p", max(0, lineBytes-len(proto)))
	var written int64
	n := 0
	for written < size {
		n++
		ts := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC).Add(time.Duration(n) * time.Microsecond).Format("2006-01-02T15:04:05.000000Z")
		k, err := fmt.Fprintf(w, `{"ts":%q,"msg":"audit","pad":%q,"details":{"file":"big","seq":%d}}`+"\n", ts, pad, 1000000000+n)
		if err != nil {
			b.Fatal(err)
		}
		written += int64(k)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return n
}

// benchReader reads path with a bare tailer (no parsing, no output) and
// returns how long it took.
func benchReader(b *testing.B, path string) time.Duration {
	b.Helper()
	reg, err := registry.Open(filepath.Join(b.TempDir(), "registry.json"), 0)
	if err != nil {
		b.Fatal(err)
	}
	cfg := tailer.DefaultConfig()
	cfg.Paths, cfg.Once = []string{path}, true
	tl, err := tailer.New("bench", cfg, reg, nil)
	if err != nil {
		b.Fatal(err)
	}
	ch := make(chan []tailer.Line, 16)
	var wg sync.WaitGroup
	wg.Go(func() {
		for range ch {
		}
	})
	t0 := time.Now()
	err = tl.Run(context.Background(), ch)
	d := time.Since(t0)
	close(ch)
	wg.Wait()
	if err != nil {
		b.Fatal(err)
	}
	return d
}

// resetPeakRSS resets VmHWM of this process (Linux 4.0+); where that is not
// possible the sampler still sees the peak.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// sampler records the highest VmRSS and VmHWM seen.
type sampler struct {
	mu    sync.Mutex
	peak  int64
	stopc chan struct{}
	wg    sync.WaitGroup
}

func (s *sampler) start() {
	s.stopc = make(chan struct{})
	s.wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			s.sample()
			select {
			case <-t.C:
			case <-s.stopc:
				return
			}
		}
	})
}

func (s *sampler) sample() {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			continue
		}
		s.mu.Lock()
		s.peak = max(s.peak, kb<<10)
		s.mu.Unlock()
	}
}

// stop ends sampling and returns the peak in bytes.
func (s *sampler) stop() int64 {
	close(s.stopc)
	s.wg.Wait()
	s.sample()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak
}
