package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/agent/deadletter"
	"github.com/auditship/auditship/agent/registry"
	"github.com/auditship/auditship/internal/testes"
)

// The tests of this file run the real agent binary against a server that
// speaks the Elasticsearch API: the shared test server (make
// testserver-start, or ELASTICSEARCH_URL), a fault-injecting proxy in front
// of it, or a private ZincSearch instance that a test stops and starts.

// esOutput returns an output "elasticsearch" "es" block for the server at
// esURL (credentials as userinfo; the password goes through a file) writing
// under prefix. The request timeout is the default 30 s: the shared test
// server can stall for seconds while another package's test makes it index
// thousands of documents.
func esOutput(t *testing.T, esURL, prefix string) string {
	t.Helper()
	return esOutputTimeout(t, esURL, prefix, "30s")
}

// esOutputTimeout is esOutput with a request_timeout.
func esOutputTimeout(t *testing.T, esURL, prefix, timeout string) string {
	t.Helper()
	base, user, password := testes.Credentials(t, esURL)
	var auth string
	if user != "" {
		auth = fmt.Sprintf("  username      = %q\n  password_file = %q\n", user, testes.PasswordFile(t, password))
	}
	return fmt.Sprintf(`
output "elasticsearch" "es" {
  addresses       = [%q]
%s  index_prefix    = %q
  request_timeout = %q
}
`, base, auth, prefix, timeout)
}

// esConfig writes an agent.hcl like testConfig's, whose only output is
// outputBlock, and returns its path and the query address.
func esConfig(t *testing.T, dir, outputBlock string) (string, string) {
	t.Helper()
	p, addr := testConfig(t, dir, "")
	src, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(src), `output "sqlite" "store" {}`, outputBlock, 1)
	if s == string(src) {
		t.Fatal("testConfig has no sqlite output to replace")
	}
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, addr
}

// runAuditship runs the binary with args and returns its exit code,
// stdout and stderr.
func runAuditship(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run auditship %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return code, stdout.String(), stderr.String()
}

// waitCount polls GET /audit-logs for e2e_item events until at least n are
// there, for at most timeout (ZincSearch indexes asynchronously, and after
// an outage the agent's backoff may wait up to half a minute).
func waitCount(t *testing.T, addr string, n int, timeout time.Duration) {
	t.Helper()
	pollAPI(t, timeout, func() error {
		code, body, _ := getEvents(t, addr, testKey, "?limit=10000&event_name=e2e_item")
		if code != 200 {
			return fmt.Errorf("GET /audit-logs: %d %s", code, body)
		}
		var evs []json.RawMessage
		if err := json.Unmarshal(body, &evs); err != nil {
			return err
		}
		if len(evs) < n {
			return fmt.Errorf("%d of %d events searchable", len(evs), n)
		}
		return nil
	})
}

// pollAPI calls f every 200 ms (under the query API's default rate limit of
// 10 requests a second) until it returns nil, and fails the test with f's
// last error after timeout.
func pollAPI(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %s: %v", timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestSetup(t *testing.T) {
	t.Parallel()
	esURL := testes.URL(t)

	t.Run("installs then checks", func(t *testing.T) {
		t.Parallel()
		prefix := testes.IndexPrefix(t, esURL)
		cfg, _ := esConfig(t, t.TempDir(), esOutput(t, esURL, prefix))
		for round := range 2 {
			code, stdout, stderr := runAuditship(t, nil, "setup", "--config", cfg, "--log-format", "json")
			if code != 0 || !strings.Contains(stdout, `output "es": ok`) {
				t.Fatalf("round %d: exit %d\nstdout: %s\nstderr: %s", round, code, stdout, stderr)
			}
		}
		res, err := testes.Do(t, http.MethodGet, esURL+"/_index_template/"+prefix, nil)
		if err != nil || res.Status != 200 || !strings.Contains(string(res.Body), prefix+"-*") {
			t.Fatalf("template after setup: %v %d %s", err, res.Status, res.Body)
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		t.Parallel()
		cfg, _ := esConfig(t, t.TempDir(), `output "elasticsearch" "es" {
  addresses       = ["http://127.0.0.1:1"]
  request_timeout = "2s"
}`)
		code, _, stderr := runAuditship(t, nil, "setup", "--config", cfg)
		if code != 1 || !strings.Contains(stderr, `output "es": connect to elasticsearch at http://127.0.0.1:1`) {
			t.Fatalf("exit %d, want 1 saying it cannot connect\nstderr: %s", code, stderr)
		}
	})

	t.Run("credentials refused", func(t *testing.T) {
		t.Parallel()
		base, user, _ := testes.Credentials(t, esURL)
		if user == "" {
			t.Fatal("ELASTICSEARCH_URL has no credentials; this test needs a server that checks them")
		}
		cfg, _ := esConfig(t, t.TempDir(), fmt.Sprintf(`output "elasticsearch" "es" {
  addresses    = [%q]
  username     = %q
  password_env = "ES_TEST_PASSWORD"
}`, base, user))
		code, _, stderr := runAuditship(t, []string{"ES_TEST_PASSWORD=not-the-password"}, "setup", "--config", cfg)
		if code != 1 || !strings.Contains(stderr, "credentials refused") || strings.Contains(stderr, "not-the-password") {
			t.Fatalf("exit %d, want 1 saying credentials refused without the password\nstderr: %s", code, stderr)
		}
	})

	t.Run("incompatible mapping", func(t *testing.T) {
		t.Parallel()
		prefix := testes.IndexPrefix(t, esURL)
		body := fmt.Sprintf(`{"index_patterns":[%q],"template":{"mappings":{"properties":{"event_time":{"type":"keyword"}}}}}`, prefix+"-*")
		if res, err := testes.Do(t, http.MethodPut, esURL+"/_index_template/"+prefix, []byte(body)); err != nil || res.Status >= 300 {
			t.Fatalf("put template: %v %d %s", err, res.Status, res.Body)
		}
		cfg, _ := esConfig(t, t.TempDir(), esOutput(t, esURL, prefix))
		code, _, stderr := runAuditship(t, nil, "setup", "--config", cfg)
		if code != 1 || !strings.Contains(stderr, "incompatible mapping") || !strings.Contains(stderr, prefix) {
			t.Fatalf("exit %d, want 1 naming the incompatible template\nstderr: %s", code, stderr)
		}
	})

	t.Run("config error", func(t *testing.T) {
		t.Parallel()
		cfg, _ := esConfig(t, t.TempDir(), `output "elasticsearch" "es" {
  addresses = ["ftp://127.0.0.1:9200"]
}`)
		code, _, stderr := runAuditship(t, nil, "setup", "--config", cfg)
		if code != 2 || !strings.Contains(stderr, "addresses") {
			t.Fatalf("exit %d, want 2 naming addresses\nstderr: %s", code, stderr)
		}
	})
}

// exampleConfig writes a copy of the repository's agent.hcl that reads the
// example logs, keeps its data in dir, serves the query API on a free port,
// and uses outputBlock instead of the embedded store when it is not "".
func exampleConfig(t *testing.T, dir, outputBlock string) (string, string) {
	t.Helper()
	src, err := os.ReadFile("../../agent.hcl")
	if err != nil {
		t.Fatal(err)
	}
	logs, err := filepath.Abs("../../examples/logs/*.log")
	if err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	s := string(src)
	for _, r := range [][2]string{
		{`paths    = ["examples/logs/*.log"]`, fmt.Sprintf(`paths    = [%q]`, logs)},
		{`listen = "127.0.0.1:8080"`, fmt.Sprintf(`listen = %q`, addr)},
	} {
		if !strings.Contains(s, r[0]) {
			t.Fatalf("agent.hcl no longer contains %q; update this test", r[0])
		}
		s = strings.Replace(s, r[0], r[1], 1)
	}
	if outputBlock != "" {
		const store = "output \"sqlite\" \"store\" {\n  path = \"audit.db\"\n}"
		if !strings.Contains(s, store) {
			t.Fatalf("agent.hcl no longer contains %q; update this test", store)
		}
		s = strings.Replace(s, store, outputBlock, 1)
	}
	p := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, addr
}

// serveQuery starts `auditship query` on cfg and waits until it answers.
func serveQuery(t *testing.T, cfg, addr string) {
	t.Helper()
	cmd := exec.Command(binPath, "query", "--config", cfg, "--log-format", "json")
	cmd.Env = append(os.Environ(), "AUDITSHIP_SUPERADMIN_KEY="+testKey)
	var stderr bytes.Buffer
	cmd.Stderr = &lockedWriter{w: &stderr}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	testes.Poll(t, 30*time.Second, func() error {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("auditship query exited: %v\n%s", err, stderr.String())
		default:
		}
		res, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return err
		}
		res.Body.Close()
		return nil
	})
}

// TestExampleLogs_ElasticsearchMatchesEmbeddedStore ships the example logs
// with the default mapping once to the embedded store and once to
// Elasticsearch, and checks that GET /audit-logs answers byte for byte the
// same from both.
func TestExampleLogs_ElasticsearchMatchesEmbeddedStore(t *testing.T) {
	t.Parallel()
	esURL := testes.URL(t)
	prefix := testes.IndexPrefix(t, esURL)
	sqliteCfg, sqliteAddr := exampleConfig(t, t.TempDir(), "")
	esCfg, esAddr := exampleConfig(t, t.TempDir(), esOutput(t, esURL, prefix))

	for _, cfg := range []string{sqliteCfg, esCfg} {
		env := []string{"AUDITSHIP_SUPERADMIN_KEY=" + testKey}
		code, _, stderr := runAuditship(t, env, "agent", "--once", "--config", cfg, "--log-format", "json")
		if code != 0 {
			t.Fatalf("agent --once on %s: exit %d\n%s", cfg, code, stderr)
		}
	}
	serveQuery(t, sqliteCfg, sqliteAddr)
	serveQuery(t, esCfg, esAddr)

	const params = "?limit=1000"
	code, want, _ := getEvents(t, sqliteAddr, testKey, params)
	if code != 200 {
		t.Fatalf("embedded store: %d %s", code, want)
	}
	var evs []apiEvent
	if err := json.Unmarshal(want, &evs); err != nil || len(evs) < 40 {
		t.Fatalf("embedded store answered %d events (%v), want the example logs' ~50", len(evs), err)
	}
	var got []byte
	pollAPI(t, 30*time.Second, func() error {
		code, got, _ = getEvents(t, esAddr, testKey, params)
		if code != 200 {
			return fmt.Errorf("elasticsearch: %d %s", code, got)
		}
		var n []json.RawMessage
		if err := json.Unmarshal(got, &n); err != nil {
			return err
		}
		if len(n) < len(evs) {
			return fmt.Errorf("%d of %d events searchable", len(n), len(evs))
		}
		return nil
	})
	if !bytes.Equal(want, got) {
		t.Errorf("GET /audit-logs%s differs (-embedded store +elasticsearch):\n%s", params, gocmp.Diff(string(want), string(got)))
	}
}

// TestElasticsearch_ServerOutage stops a private ZincSearch for 30 s in the
// middle of a stream and starts it again: every event arrives once.
func TestElasticsearch_ServerOutage(t *testing.T) {
	t.Parallel()
	srv := testes.StartServer(t)
	dir := t.TempDir()
	cfg, addr := esConfig(t, dir, esOutputTimeout(t, srv.URL(), "outage", "5s"))
	w := newWriter(t, dir)
	w.write("a.log", 60)
	p := startAgent(t, cfg, addr)
	waitCount(t, addr, len(w.want), 30*time.Second)

	srv.Stop()
	// Lines keep coming while the server is down.
	for i := range 10 {
		w.write(fmt.Sprintf("f%d.log", i%2), 30)
		time.Sleep(time.Second)
	}
	time.Sleep(20 * time.Second) // the rest of the 30 s outage
	srv.Start()
	w.write("a.log", 30)

	// The agent's backoff grows to several seconds during the outage.
	waitCount(t, addr, len(w.want), 60*time.Second)
	w.check(addr)
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("agent exit after SIGTERM: %v\n%s", err, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "output write failed, retrying") {
		t.Errorf("the agent never retried: the outage did not happen?\n%s", p.stderr.String())
	}
}

// proxiedAgent sets up a fault proxy in front of the test server and an
// agent config that ships through it, with 15 lines (10 audit events)
// already written; the agent is not started yet.
func proxiedAgent(t *testing.T) (p *testes.FaultProxy, dir, cfg, addr string, w *writer) {
	t.Helper()
	esURL := testes.URL(t)
	p = testes.NewFaultProxy(t, esURL)
	dir = t.TempDir()
	cfg, addr = esConfig(t, dir, esOutput(t, p.URL(), testes.IndexPrefix(t, esURL)))
	w = newWriter(t, dir)
	w.write("a.log", 15)
	if len(w.want) != 10 {
		t.Fatalf("wrote %d audit events, want 10", len(w.want))
	}
	return p, dir, cfg, addr, w
}

// waitBulks polls until the proxy has received at least n bulk requests.
func waitBulks(t *testing.T, p *testes.FaultProxy, n int) [][]byte {
	t.Helper()
	var bodies [][]byte
	testes.Poll(t, 30*time.Second, func() error {
		if bodies = p.BulkBodies(); len(bodies) < n {
			return fmt.Errorf("%d of %d bulk requests received", len(bodies), n)
		}
		return nil
	})
	return bodies
}

func TestElasticsearch_BulkFaults(t *testing.T) {
	t.Parallel()

	t.Run("429 items are re-sent alone", func(t *testing.T) {
		t.Parallel()
		p, _, cfg, addr, w := proxiedAgent(t)
		tooMany := testes.ItemFault{Status: 429, Type: "es_rejected_execution_exception", Reason: "rejected execution: queue full"}
		p.RewriteNextBulk(map[int]testes.ItemFault{3: tooMany, 7: tooMany})
		startAgent(t, cfg, addr)
		bodies := waitBulks(t, p, 2)
		first := testes.BulkIDs(bodies[0])
		if len(first) != 10 {
			t.Fatalf("first bulk has %d items, want the 10 events", len(first))
		}
		if diff := gocmp.Diff([]string{first[3], first[7]}, testes.BulkIDs(bodies[1])); diff != "" {
			t.Errorf("second bulk (-want +got):\n%s", diff)
		}
		w.check(addr)
	})

	t.Run("500 request is re-sent whole", func(t *testing.T) {
		t.Parallel()
		p, _, cfg, addr, w := proxiedAgent(t)
		p.FailBulk(1, http.StatusInternalServerError)
		startAgent(t, cfg, addr)
		bodies := waitBulks(t, p, 2)
		if diff := gocmp.Diff(testes.BulkIDs(bodies[0]), testes.BulkIDs(bodies[1])); diff != "" || len(testes.BulkIDs(bodies[0])) != 10 {
			t.Errorf("re-sent bulk differs from the refused one (-first +second):\n%s", diff)
		}
		w.check(addr)
	})

	t.Run("mapping conflict is dead-lettered", func(t *testing.T) {
		t.Parallel()
		p, dir, cfg, addr, w := proxiedAgent(t)
		p.RewriteNextBulk(map[int]testes.ItemFault{4: {
			Status: 400, Type: "mapper_parsing_exception",
			Reason: "failed to parse field [details.e2e_item.seq] of type [long]",
		}})
		startAgent(t, cfg, addr)
		bodies := waitBulks(t, p, 1)
		rejectedID := testes.BulkIDs(bodies[0])[4]
		dl := filepath.Join(dir, "data", "deadletter.ndjson")
		var recs []deadletter.Record
		testes.Poll(t, 30*time.Second, func() error {
			var err error
			if recs, err = deadletter.ReadFile(dl); err == nil && len(recs) == 0 {
				err = fmt.Errorf("no dead-letter record yet")
			}
			return err
		})
		if len(recs) != 1 || !strings.Contains(recs[0].Reason, "mapper_parsing_exception") || !strings.Contains(recs[0].Reason, "400") {
			t.Fatalf("dead-letter records %+v, want one with the mapping error", recs)
		}
		var line struct {
			Audit struct {
				Details struct {
					Seq  int    `json:"seq"`
					File string `json:"file"`
				} `json:"details"`
			} `json:"audit"`
		}
		if err := json.Unmarshal([]byte(recs[0].Line), &line); err != nil {
			t.Fatalf("dead-lettered line %q: %v", recs[0].Line, err)
		}
		key := fmt.Sprintf("%s/%d", line.Audit.Details.File, line.Audit.Details.Seq)
		if !w.want[key] {
			t.Fatalf("dead-lettered line %q is not one of the written audit lines", recs[0].Line)
		}
		delete(w.want, key) // the other nine are indexed, each once
		w.check(addr)
		for _, e := range e2eItems(t, addr) {
			if fmt.Sprint(e.ID) == rejectedID {
				t.Errorf("event %s was rejected but is in the index", rejectedID)
			}
		}
	})
}

// TestElasticsearch_KillBetweenSendAndAck kills the agent with SIGKILL
// while the server has stored a bulk but the agent has not heard so (the
// proxy withholds the answer), so no offset was recorded; after a restart
// the bulk is sent again and the index holds each event once: through the
// 409 "already stored" answers of Elasticsearch (rewritten by the proxy,
// ZincSearch overwrites instead), and through the deterministic _id alone.
func TestElasticsearch_KillBetweenSendAndAck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		conflict bool
	}{
		{"replay answered 409", true},
		{"replay overwrites the same _id", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			p, _, cfg, addr, w := proxiedAgent(t)
			forwarded := p.HoldNextBulk()
			a := startAgent(t, cfg, addr)
			select {
			case <-forwarded:
			case <-time.After(30 * time.Second):
				t.Fatalf("no bulk request reached the server\n%s", a.stderr.String())
			}
			_ = a.stop(t, syscall.SIGKILL)
			first := testes.BulkIDs(p.BulkBodies()[0])
			if len(first) != 10 {
				t.Fatalf("first bulk has %d items, want the 10 events", len(first))
			}
			if tc.conflict {
				conflicts := map[int]testes.ItemFault{}
				for i := range first {
					conflicts[i] = testes.ItemFault{Status: 409, Type: "version_conflict_engine_exception", Reason: "document already exists"}
				}
				p.RewriteNextBulk(conflicts)
			}
			startAgent(t, cfg, addr)
			bodies := waitBulks(t, p, 2)
			if diff := gocmp.Diff(first, testes.BulkIDs(bodies[1])); diff != "" {
				t.Errorf("replayed bulk (-first +replay):\n%s", diff)
			}
			w.check(addr)
		})
	}
}

// TestElasticsearch_TwoBatchesInFlight checks the delivery window of the
// Elasticsearch output (outputs.Concurrent): with the answer to one bulk
// withheld, the next batch is still sent, but no offset is acknowledged past
// the batch whose answer is missing; once it comes, everything is
// acknowledged and each event is stored once.
func TestElasticsearch_TwoBatchesInFlight(t *testing.T) {
	t.Parallel()
	p, dir, cfg, addr, w := proxiedAgent(t)
	src, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	small := strings.Replace(string(src), "batch_events   = 50", "batch_events   = 5", 1)
	if small == string(src) {
		t.Fatal("testConfig no longer sets batch_events = 50")
	}
	if err := os.WriteFile(cfg, []byte(small), 0o644); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "logs", "a.log")
	fi, err := os.Stat(logPath)
	if err != nil {
		t.Fatal(err)
	}
	offset := func() int64 {
		reg, err := registry.Open(filepath.Join(dir, "data", "registry.json"), 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range reg.Entries() {
			if filepath.Base(e.Path) == "a.log" {
				return e.Offset
			}
		}
		return 0
	}

	forwarded := p.HoldNextBulk()
	a := startAgent(t, cfg, addr)
	bodies := waitBulks(t, p, 2) // the second batch goes out while the first waits
	select {
	case <-forwarded:
	case <-time.After(30 * time.Second):
		t.Fatalf("the held bulk never reached the server\n%s", a.stderr.String())
	}
	// The registry is flushed every 100 ms: give the agent time to (wrongly)
	// acknowledge the answered batch past the held one.
	time.Sleep(time.Second)
	heldFirst := bytes.Contains(bodies[0], []byte(`"seq":1}`))
	switch off := offset(); {
	case heldFirst && off != 0:
		t.Fatalf("offset %d acknowledged while the first batch's answer is withheld", off)
	case off >= fi.Size():
		t.Fatalf("offset %d (the whole file) acknowledged while a batch's answer is withheld", off)
	}
	p.ReleaseHeld()
	w.check(addr)
	testes.Poll(t, 10*time.Second, func() error {
		if off := offset(); off != fi.Size() {
			return fmt.Errorf("offset %d, want %d once every batch is answered", off, fi.Size())
		}
		return nil
	})
}
