package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// binPath is the auditship binary built once for the end-to-end tests.
var binPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "auditship-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binPath = filepath.Join(dir, "auditship")
	args := []string{"build", "-o", binPath}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build auditship:", err)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a loopback address nobody listens on right now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

const testKey = "e2e-superadmin-key-0123456789"

// testConfig writes an agent.hcl for logs under dir/logs and returns its path
// and the query address.
func testConfig(t *testing.T, dir string, extra string) (string, string) {
	t.Helper()
	addr := freePort(t)
	cfg := fmt.Sprintf(`
data_dir = "data"
shutdown_timeout = "10s"
registry_flush_interval = "100ms"

input "file" "app" {
  paths = ["logs/*.log"]
  scan_interval = "200ms"
  parser "json" {}
  mapping {
    when          = record.msg == "audit"
    event_id      = record.audit.event_id
    event_time    = record.ts
    event_name    = record.audit.resource
    event_type    = record.audit.action
    event_details = record.audit.details
    user_uid      = record.audit.user_uid
  }
}

schema "e2e_item" {
  details = object({ seq = number, file = string })
}

pipeline {
  batch_events   = 50
  flush_interval = "50ms"
}

output "sqlite" "store" {}

query {
  listen = %q
  api_key "viewer" {
    sha256 = %q
    role   = "viewer"
  }
}
%s
`, addr, sha256hex("viewer-key"), extra)
	p := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p, addr
}

// agentProc is a running auditship agent process.
type agentProc struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan error
}

func startAgent(t *testing.T, cfg, addr string) *agentProc {
	t.Helper()
	return startAgentEnv(t, cfg, addr)
}

// startAgentEnv is startAgent with env added to the agent's environment,
// which is the test's own without GOGC and GOMEMLIMIT.
func startAgentEnv(t *testing.T, cfg, addr string, env ...string) *agentProc {
	t.Helper()
	cmd := exec.Command(binPath, "agent", "--config", cfg, "--log-format", "json", "--log-level", "info")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOGC=") && !strings.HasPrefix(kv, "GOMEMLIMIT=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "AUDITSHIP_SUPERADMIN_KEY="+testKey)
	cmd.Env = append(cmd.Env, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &lockedWriter{w: &stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &agentProc{cmd: cmd, stderr: &stderr, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			return p
		}
		select {
		case err := <-p.done:
			t.Fatalf("agent exited early: %v\n%s", err, stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("agent did not listen on %s within 30s\n%s", addr, stderr.String())
	return nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// stop sends sig and waits for the process to end.
func (p *agentProc) stop(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("agent did not stop within 30s after %v", sig)
	}
	return nil
}

type apiEvent struct {
	ID      int64          `json:"event_id"`
	Time    string         `json:"event_time"`
	Name    string         `json:"event_name"`
	Type    string         `json:"event_type"`
	Details map[string]any `json:"event_details"`
	UserUID int64          `json:"user_uid"`
}

// getEvents calls GET /audit-logs with key and returns the status and body.
func getEvents(t *testing.T, addr, key, params string) (int, []byte, http.Header) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+addr+"/audit-logs"+params, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body, resp.Header
}

// e2eItems returns the stored e2e_item events.
func e2eItems(t *testing.T, addr string) []apiEvent {
	t.Helper()
	code, body, _ := getEvents(t, addr, testKey, "?limit=10000&event_name=e2e_item")
	if code != 200 {
		t.Fatalf("GET /audit-logs: %d %s", code, body)
	}
	var evs []apiEvent
	if err := json.Unmarshal(body, &evs); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return evs
}

// writer appends audit and ordinary lines to log files and remembers what it
// wrote.
type writer struct {
	t    *testing.T
	dir  string
	seq  int
	want map[string]bool // "file/seq" of every audit line written
}

func newWriter(t *testing.T, dir string) *writer {
	return &writer{t: t, dir: dir, want: map[string]bool{}}
}

// write appends n lines to logs/<file>, every third one an ordinary line.
func (w *writer) write(file string, n int) {
	w.t.Helper()
	f, err := os.OpenFile(filepath.Join(w.dir, "logs", file), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		w.t.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriter(f)
	for i := 0; i < n; i++ {
		w.seq++
		ts := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC).Add(time.Duration(w.seq) * time.Millisecond).Format(time.RFC3339Nano)
		if w.seq%3 == 0 {
			fmt.Fprintf(bw, `{"ts":%q,"level":"info","msg":"request completed","path":"/api/v1/items","status":200,"seq":%d}`+"\n", ts, w.seq)
			continue
		}
		fmt.Fprintf(bw, `{"ts":%q,"level":"info","msg":"audit","audit":{"resource":"e2e_item","action":"create","user_uid":%d,"details":{"seq":%d,"file":%q}}}`+"\n", ts, 1+w.seq%7, w.seq, file)
		w.want[fmt.Sprintf("%s/%d", file, w.seq)] = true
	}
	if err := bw.Flush(); err != nil {
		w.t.Fatal(err)
	}
}

// check waits until the store holds exactly the written audit events, each
// once, and fails on any duplicate, any stranger, or a timeout.
func (w *writer) check(addr string) {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var got []apiEvent
	for {
		got = e2eItems(w.t, addr)
		if len(got) >= len(w.want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	seen := map[string]int{}
	ids := map[int64]int{}
	for _, e := range got {
		key := fmt.Sprintf("%v/%v", e.Details["file"], e.Details["seq"])
		seen[key]++
		ids[e.ID]++
		if len(e.Details) != 2 {
			w.t.Errorf("event %d details = %v, want seq and file only", e.ID, e.Details)
		}
	}
	for k, n := range seen {
		if n > 1 {
			w.t.Errorf("event %s stored %d times", k, n)
		}
		if !w.want[k] {
			w.t.Errorf("event %s stored but never written as an audit line", k)
		}
	}
	for id, n := range ids {
		if n > 1 {
			w.t.Errorf("event_id %d stored %d times", id, n)
		}
	}
	missing := 0
	for k := range w.want {
		if seen[k] == 0 {
			missing++
			if missing <= 5 {
				w.t.Errorf("event %s written but not stored", k)
			}
		}
	}
	if missing > 0 {
		w.t.Errorf("%d of %d events missing", missing, len(w.want))
	}
}

func TestAgent_EndToEnd(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg, addr := testConfig(t, dir, "")
	w := newWriter(t, dir)
	w.write("a.log", 30)
	p := startAgent(t, cfg, addr)
	w.check(addr)

	t.Run("appended line appears", func(t *testing.T) {
		w.write("b.log", 2)
		w.check(addr)
	})

	t.Run("exactly six fields", func(t *testing.T) {
		code, body, hdr := getEvents(t, addr, testKey, "?limit=100")
		if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Fatalf("status %d, content type %q", code, hdr.Get("Content-Type"))
		}
		var raw []map[string]json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatal(err)
		}
		if len(raw) == 0 {
			t.Fatal("no events")
		}
		for _, e := range raw {
			var keys []string
			for k := range e {
				keys = append(keys, k)
			}
			if len(e) != 6 {
				t.Fatalf("event has fields %v, want the six of the reference", keys)
			}
			var ts string
			if err := json.Unmarshal(e["event_time"], &ts); err != nil {
				t.Fatal(err)
			}
			if _, err := time.Parse("2006-01-02T15:04:05.000000", ts); err != nil {
				t.Errorf("event_time %q not in the reference form: %v", ts, err)
			}
		}
	})

	t.Run("auth and errors", func(t *testing.T) {
		for _, tc := range []struct {
			name, key, params string
			want              int
		}{
			{"no key", "", "?limit=10", 401},
			{"wrong key", "nope", "?limit=10", 401},
			{"viewer key", "viewer-key", "?limit=10", 403},
			{"superadmin", testKey, "?limit=10", 200},
			{"limit zero", testKey, "?limit=0", 400},
			{"limit text", testKey, "?limit=ten", 400},
			{"limit too big", testKey, "?limit=10001", 400},
		} {
			code, body, hdr := getEvents(t, addr, tc.key, tc.params)
			if code != tc.want {
				t.Errorf("%s: status %d, want %d (%s)", tc.name, code, tc.want, body)
			}
			if code != 200 {
				var e map[string]any
				if err := json.Unmarshal(body, &e); err != nil || e["message"] == nil || e["error"] == nil {
					t.Errorf("%s: error body %s is not a JSON object with error and message", tc.name, body)
				}
			}
			if code == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: 401 without WWW-Authenticate", tc.name)
			}
		}
	})

	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("agent exit after SIGTERM: %v\n%s", err, p.stderr.String())
	}
}

// TestAgent_RestartLosesNothing stops the agent by SIGTERM and by kill -9 in
// the middle of a stream, many rounds, and checks every audit line is stored
// exactly once.
func TestAgent_RestartLosesNothing(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg, addr := testConfig(t, dir, "")
			w := newWriter(t, dir)
			rounds := 10
			for r := 0; r < rounds; r++ {
				p := startAgent(t, cfg, addr)
				// A stream: lines keep arriving while the agent is stopped.
				stopAt := make(chan struct{})
				var wg sync.WaitGroup
				wg.Go(func() {
					for i := 0; i < 20; i++ {
						w.write(fmt.Sprintf("f%d.log", i%3), 25)
						if i == 10 {
							close(stopAt)
						}
						time.Sleep(5 * time.Millisecond)
					}
				})
				<-stopAt
				err := p.stop(t, sig)
				if sig == syscall.SIGTERM && err != nil {
					t.Fatalf("round %d: exit after SIGTERM: %v\n%s", r, err, p.stderr.String())
				}
				wg.Wait()
			}
			p := startAgent(t, cfg, addr)
			w.check(addr)
			_ = p.stop(t, syscall.SIGTERM)
		})
	}
}

func TestValidate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg, _ := testConfig(t, dir, "")
	out, err := exec.Command(binPath, "validate", "--config", cfg).CombinedOutput()
	if err != nil {
		t.Fatalf("validate of a good config: %v\n%s", err, out)
	}

	bad := filepath.Join(dir, "typo.hcl")
	src, _ := os.ReadFile(cfg)
	typo := strings.Replace(string(src), "  paths = [", "  pathz = [", 1)
	if err := os.WriteFile(bad, []byte(typo), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binPath, "validate", "--config", bad)
	out, err = cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errorsAs(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("validate of a typo: err %v, want exit code 2\n%s", err, out)
	}
	line := lineOf(typo, "pathz")
	want := fmt.Sprintf("typo.hcl:%d:3:", line)
	if !strings.Contains(string(out), want) || !strings.Contains(string(out), "pathz") {
		t.Errorf("validate output lacks %q naming pathz:\n%s", want, out)
	}
}

func lineOf(s, sub string) int {
	for i, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return i + 1
		}
	}
	return -1
}

// TestAgent_GCPercent checks the collector settings the agent runs with, as
// its own /metrics reports them (runtime/metrics /gc/gogc:percent and
// /gc/gomemlimit:bytes): GOGC 200 and a 28 MiB soft limit by default, the
// environment's GOGC and GOMEMLIMIT when set.
func TestAgent_GCPercent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		env  []string
		want []string
	}{
		{"default", nil, []string{"go_gc_gogc_percent 200", "go_gc_gomemlimit_bytes 2.9360128e+07"}},
		{"environment", []string{"GOGC=75", "GOMEMLIMIT=1GiB"}, []string{"go_gc_gogc_percent 75", "go_gc_gomemlimit_bytes 1.073741824e+09"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			metricsAddr := freePort(t)
			cfg, addr := testConfig(t, dir, fmt.Sprintf("http {\n  listen = %q\n}\n", metricsAddr))
			p := startAgentEnv(t, cfg, addr, tc.env...)
			// startAgent waited for the query listener; the metrics
			// listener may come up a moment apart from it.
			var resp *http.Response
			var err error
			for deadline := time.Now().Add(10 * time.Second); ; {
				if resp, err = http.Get("http://" + metricsAddr + "/metrics"); err == nil || time.Now().After(deadline) {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range strings.Split(string(body), "\n") {
				if strings.HasPrefix(l, "go_gc_gogc_percent ") || strings.HasPrefix(l, "go_gc_gomemlimit_bytes ") {
					got = append(got, l)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("metrics lines %q, want %q", got, tc.want)
			}
			if err := p.stop(t, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
		})
	}
}
