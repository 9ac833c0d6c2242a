package agent_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/auditship/auditship/agent"
	"github.com/auditship/auditship/agent/config"
)

// The ops tests run the agent in process with its http listener and query
// API on free loopback ports, and look at it the way an operator does:
// /metrics, /readyz, GET /audit-logs.

const opsKey = "ops-superadmin-key-0123456789"

// opsInput is the text of an input block reading logs/<glob>.
func opsInput(name, glob string) string {
	return fmt.Sprintf(`
input "file" %q {
  paths         = ["logs/%s"]
  scan_interval = "50ms"
  parser "json" {}
  mapping {
    when          = record.msg == "audit"
    event_time    = record.ts
    event_name    = record.audit.resource
    event_type    = record.audit.action
    event_details = record.audit.details
    user_uid      = record.audit.user_uid
  }
}
`, name, glob)
}

// opsConfig is a whole agent.hcl around the given input blocks.
func opsConfig(inputs, extra string) string {
	return `
data_dir = "data"
shutdown_timeout = "10s"
registry_flush_interval = "50ms"
` + inputs + `
schema "ops_item" {
  details = object({ seq = number, file = string })
}

pipeline {
  batch_events   = 40
  flush_interval = "20ms"
}

output "sqlite" "store" {}

query {
  listen = "127.0.0.1:0"
}

http {
  listen = "127.0.0.1:0"
}
` + extra
}

// opsAgent is an agent running in this process.
type opsAgent struct {
	a         *agent.Agent
	dir       string
	cancel    context.CancelFunc
	done      chan error
	queryAddr atomic.Value // string; changes when a reload restarts the query API
	httpAddr  atomic.Value // string
	log       *opsLogBuf
}

func opsParse(t *testing.T, dir, text string) *config.Config {
	t.Helper()
	p := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, diags := config.Load(p)
	if diags.HasErrors() {
		t.Fatalf("config: %s", diags.Error())
	}
	return cfg
}

func opsStart(t *testing.T, dir, text string) *opsAgent {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := opsParse(t, dir, text)
	o := &opsAgent{dir: dir, done: make(chan error, 1), log: &opsLogBuf{}}
	log := slog.New(slog.NewTextHandler(o.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ready := make(chan struct{}, 2)
	a, err := agent.New(cfg, log, agent.Options{
		SuperadminKey: opsKey,
		Ready:         func(addr string) { o.queryAddr.Store(addr); ready <- struct{}{} },
		HTTPReady:     func(addr string) { o.httpAddr.Store(addr); ready <- struct{}{} },
	})
	if err != nil {
		t.Fatal(err)
	}
	o.a = a
	ctx, cancel := context.WithCancel(context.Background())
	o.cancel = cancel
	go func() { o.done <- a.Run(ctx) }()
	t.Cleanup(func() { o.stop(t) })
	for range 2 {
		select {
		case <-ready:
		case err := <-o.done:
			o.done <- err
			t.Fatalf("agent stopped at start: %v\n%s", err, o.log.tail(40))
		case <-time.After(30 * time.Second):
			t.Fatal("agent did not listen within 30s")
		}
	}
	return o
}

// stop stops the agent (once) and fails the test if Run returned an error.
func (o *opsAgent) stop(t *testing.T) {
	t.Helper()
	if o.cancel == nil {
		return
	}
	o.cancel()
	o.cancel = nil
	select {
	case err := <-o.done:
		if err != nil {
			t.Errorf("agent Run: %v\n%s", err, o.log.tail(40))
		}
	case <-time.After(60 * time.Second):
		t.Error("agent did not stop within 60s")
	}
}

func (o *opsAgent) get(t *testing.T, addr, path string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+opsKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// metrics scrapes /metrics into a map from `name{labels}` (labels as the
// exposition format writes them, sorted by name) to value.
func (o *opsAgent) metrics(t *testing.T) map[string]float64 {
	t.Helper()
	code, b := o.get(t, o.httpAddr.Load().(string), "/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d %s", code, b)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metric line %q: %v", line, err)
		}
		m[line[:i]] = v
	}
	return m
}

// storedItems returns "file/seq" → count of the stored ops_item events.
func (o *opsAgent) storedItems(t *testing.T) map[string]int {
	t.Helper()
	code, b := o.get(t, o.queryAddr.Load().(string), "/audit-logs?limit=10000&event_name=ops_item")
	if code != 200 {
		t.Fatalf("GET /audit-logs: %d %s", code, b)
	}
	var evs []struct {
		Details map[string]any `json:"event_details"`
	}
	if err := json.Unmarshal(b, &evs); err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range evs {
		got[fmt.Sprintf("%v/%v", e.Details["file"], e.Details["seq"])]++
	}
	return got
}

// opsWriter appends lines to files under dir/logs and remembers the audit
// lines it wrote. It is safe for concurrent use.
type opsWriter struct {
	dir  string
	mu   sync.Mutex
	seq  int
	want map[string]bool
}

func newOpsWriter(dir string) *opsWriter { return &opsWriter{dir: dir, want: map[string]bool{}} }

// audit appends n audit lines to logs/file.
func (w *opsWriter) audit(t *testing.T, file string, n int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var b strings.Builder
	for range n {
		w.seq++
		ts := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC).Add(time.Duration(w.seq) * time.Millisecond).Format(time.RFC3339Nano)
		fmt.Fprintf(&b, `{"ts":%q,"msg":"audit","audit":{"resource":"ops_item","action":"create","user_uid":%d,"details":{"seq":%d,"file":%q}}}`+"\n", ts, 1+w.seq%5, w.seq, file)
		w.want[fmt.Sprintf("%s/%d", file, w.seq)] = true
	}
	w.appendText(t, file, b.String())
}

// raw appends text as is.
func (w *opsWriter) raw(t *testing.T, file, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.appendText(t, file, text)
}

func (w *opsWriter) appendText(t *testing.T, file, text string) {
	f, err := os.OpenFile(filepath.Join(w.dir, "logs", file), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Error(err)
	}
}

func (w *opsWriter) wanted() map[string]bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]bool, len(w.want))
	for k := range w.want {
		out[k] = true
	}
	return out
}

// waitFor polls cond every 50ms until it holds or timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkStored waits until every wanted item is stored and fails on a
// missing, duplicated or unexpected one.
func (o *opsAgent) checkStored(t *testing.T, want map[string]bool) {
	t.Helper()
	var got map[string]int
	deadline := time.Now().Add(30 * time.Second)
	for {
		got = o.storedItems(t)
		if len(got) >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	missing := 0
	for k := range want {
		if got[k] == 0 {
			if missing++; missing <= 5 {
				t.Errorf("item %s written but not stored", k)
			}
		}
	}
	for k, n := range got {
		if n > 1 {
			t.Errorf("item %s stored %d times", k, n)
		}
		if !want[k] {
			t.Errorf("item %s stored but never written", k)
		}
	}
	if missing > 0 {
		t.Errorf("%d of %d items missing", missing, len(want))
	}
}

// opsLogBuf collects the agent's log.
type opsLogBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *opsLogBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *opsLogBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// tail returns the last n lines.
func (l *opsLogBuf) tail(n int) string {
	lines := strings.Split(l.String(), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
