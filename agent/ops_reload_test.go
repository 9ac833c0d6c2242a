package agent_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/auditship/auditship/internal/testcert"
	"github.com/auditship/auditship/outputs"
	"github.com/auditship/auditship/outputs/sqlite"
)

// TestOps_Reload changes the config under a running agent that keeps
// receiving lines: an input is added, the outputs and the pipeline are
// changed (the delivery side restarts), a change that needs a restart is
// refused, and the added input is removed again. Every line written must be
// stored exactly once, and the unchanged input must never stop, also not
// when a reload is refused because a changed input cannot start.
func TestOps_Reload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	app := opsInput("app", "app-*.log")
	extra := opsInput("extra", "extra-*.log")
	base := opsConfig(app, "")
	o := opsStart(t, dir, base)
	w := newOpsWriter(dir)

	// A stream into app-1.log for the whole test.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			w.audit(t, "app-1.log", 7)
		}
	})
	defer func() {
		select {
		case <-stop:
		default:
			close(stop)
		}
		wg.Wait()
	}()
	reload := func(text string) error {
		t.Helper()
		return o.a.Reload(opsParse(t, dir, text))
	}

	t.Run("add an input", func(t *testing.T) {
		w.audit(t, "extra-1.log", 30) // before the reload: read from the start once added
		if err := reload(opsConfig(app+extra, "")); err != nil {
			t.Fatal(err)
		}
		w.audit(t, "extra-1.log", 30)
		waitFor(t, 30*time.Second, "extra's lines stored", func() bool {
			got := o.storedItems(t)
			for k := range w.wanted() {
				if strings.HasPrefix(k, "extra-1.log/") && got[k] == 0 {
					return false
				}
			}
			return true
		})
	})

	t.Run("change outputs and pipeline", func(t *testing.T) {
		before := o.queryAddr.Load()
		text := strings.Replace(opsConfig(app+extra, ""), "output \"sqlite\" \"store\" {}", "output \"sqlite\" \"store\" {\n  # reloaded\n}", 1)
		text = strings.Replace(text, "batch_events   = 40", "batch_events   = 25", 1)
		if err := reload(text); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "the query API to restart", func() bool { return o.queryAddr.Load() != before })
		if !strings.Contains(o.log.String(), "reload: restarting the delivery side") {
			t.Error("the delivery side did not restart")
		}
	})

	t.Run("refuse what needs a restart", func(t *testing.T) {
		text := strings.Replace(opsConfig(app+extra, ""), `data_dir = "data"`, `data_dir = "data2"`, 1)
		err := reload(text)
		if err == nil || !strings.Contains(err.Error(), "data_dir") {
			t.Fatalf("reload with a new data_dir: %v, want an error naming data_dir", err)
		}
	})

	t.Run("refuse an input that cannot start", func(t *testing.T) {
		// config.Load refuses a bad glob, but a Config built in code can
		// hold one: the reload must fail before app is stopped.
		text := strings.Replace(opsConfig(app+extra, ""), `input "file" "app" {`, "input \"file\" \"app\" {\n  # changed", 1)
		cfg := opsParse(t, dir, text)
		for i := range cfg.Inputs {
			if cfg.Inputs[i].Name == "app" {
				cfg.Inputs[i].Tailer.Paths = []string{filepath.Join(dir, "logs", "[a-.log")}
			}
		}
		err := o.a.Reload(cfg)
		if err == nil || !strings.Contains(err.Error(), "invalid glob") {
			t.Fatalf("reload with an input that cannot start: %v, want an invalid glob error", err)
		}
		w.audit(t, "extra-1.log", 5) // both inputs still read
		want := w.wanted()           // app's stream goes on meanwhile
		waitFor(t, 30*time.Second, "lines after the refused reload stored", func() bool {
			got := o.storedItems(t)
			for k := range want {
				if got[k] == 0 {
					return false
				}
			}
			return true
		})
	})

	t.Run("remove an input", func(t *testing.T) {
		if err := reload(opsConfig(app, "")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 10*time.Second, "extra gone from /metrics", func() bool {
			_, ok := o.metrics(t)[`auditship_open_files{input="extra"}`]
			return !ok
		})
	})

	close(stop)
	wg.Wait()
	o.checkStored(t, w.wanted())
	m := o.metrics(t)
	if n := m[`auditship_events_dead_lettered_total{reason="parse"}`]; n != 0 {
		t.Errorf("%v lines dead-lettered", n)
	}
	log := o.log.String()
	if strings.Contains(log, `msg="reload: input stopped" input=app`) {
		t.Error("the unchanged input app was stopped by a reload")
	}
	if c := strings.Count(log, `msg="reload: input started" input=extra`); c != 1 {
		t.Errorf("input extra started %d times, want 1", c)
	}
}

// TestOps_ReloadHandsOverUndelivered runs the agent with an output that
// fails every write (a file output on /dev/full, ahead of the store), so
// batches pile up unacknowledged and /readyz fails; a reload then removes
// that output. The old delivery side cannot deliver within
// shutdown_timeout and hands its batches to the new one, which stores them:
// every line arrives, none is dropped by the restart.
func TestOps_ReloadHandsOverUndelivered(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	text := opsConfig(opsInput("app", "app-*.log"), "")
	text = strings.Replace(text, `shutdown_timeout = "10s"`, `shutdown_timeout = "1s"`, 1)
	text = strings.Replace(text, "http {\n  listen = \"127.0.0.1:0\"\n}", "http {\n  listen = \"127.0.0.1:0\"\n  ready_failing_after = \"100ms\"\n}", 1)
	text = strings.Replace(text, "query {\n  listen = \"127.0.0.1:0\"\n}", "query {\n  listen = \"127.0.0.1:0\"\n  output = \"store\"\n}", 1)
	failing := strings.Replace(text, `output "sqlite" "store" {}`, "output \"file\" \"sink\" {\n  path = \"/dev/full\"\n}\n\noutput \"sqlite\" \"store\" {}", 1)
	o := opsStart(t, dir, failing)
	w := newOpsWriter(dir)
	w.audit(t, "app-1.log", 120)

	waitFor(t, 20*time.Second, "failing writes to the sink", func() bool {
		return o.metrics(t)[`auditship_output_write_retries_total{output="sink"}`] >= 2
	})
	waitFor(t, 10*time.Second, "/readyz to fail", func() bool {
		code, b := o.get(t, o.httpAddr.Load().(string), "/readyz")
		return code == 503 && strings.Contains(string(b), "output sink")
	})
	// While an output fails, a read cannot be audited, so none is served.
	if code, b := o.get(t, o.queryAddr.Load().(string), "/audit-logs?limit=10000&event_name=ops_item"); code != 503 || !strings.Contains(string(b), "could not be audited") {
		t.Fatalf("GET /audit-logs while an output fails: %d %s; want 503, the read cannot be audited", code, b)
	}
	if n := storedInDB(t, filepath.Join(dir, "data")); n != 0 {
		t.Fatalf("%d events stored before the failing output was removed; want none (the sink comes first)", n)
	}

	before := o.queryAddr.Load()
	if err := o.a.Reload(opsParse(t, dir, text)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the query API to restart", func() bool { return o.queryAddr.Load() != before })
	w.audit(t, "app-1.log", 30)
	o.checkStored(t, w.wanted())
	waitFor(t, 10*time.Second, "/readyz ok and no lag", func() bool {
		code, _ := o.get(t, o.httpAddr.Load().(string), "/readyz")
		return code == 200 && o.metrics(t)[`auditship_input_lag_bytes{input="app"}`] == 0
	})
	if !strings.Contains(o.log.String(), "shutdown timeout reached") {
		t.Error("the old delivery side delivered everything; the hand-over was not exercised")
	}
}

// storedInDB counts the events in the embedded store under dataDir, read
// directly (the query API refuses reads it cannot audit).
func storedInDB(t *testing.T, dataDir string) int {
	t.Helper()
	s, err := sqlite.New(sqlite.Config{Path: "audit.db", BusyTimeout: "5s"}, dataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.OpenReadOnly(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	evs, err := s.Search(context.Background(), outputs.Query{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs)
}

// TestOps_ReloadRereadsFiles rotates the query API's TLS certificate under a
// running agent: a reload with the config unchanged serves the new
// certificate, and a reload while the key file is broken is refused, with
// the running certificate still served and the agent still running.
func TestOps_ReloadRereadsFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tlsDir := filepath.Join(dir, "tls")
	if err := os.MkdirAll(tlsDir, 0o700); err != nil {
		t.Fatal(err)
	}
	certFile, keyFile, first := testcert.SelfSigned(t, tlsDir)
	plain := "query {\n  listen = \"127.0.0.1:0\"\n}"
	withTLS := fmt.Sprintf("query {\n  listen = \"127.0.0.1:0\"\n  tls_cert_file = %q\n  tls_key_file = %q\n}", certFile, keyFile)
	text := strings.Replace(opsConfig(opsInput("app", "app-*.log"), ""), plain, withTLS, 1)
	if !strings.Contains(text, "tls_cert_file") {
		t.Fatal("opsConfig no longer has the query block this test rewrites")
	}
	o := opsStart(t, dir, text)

	roots := x509.NewCertPool()
	roots.AddCert(first)
	served := func() *big.Int {
		t.Helper()
		conn, err := tls.Dial("tcp", o.queryAddr.Load().(string), &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})
		if err != nil {
			t.Fatalf("TLS dial: %v", err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber
	}
	if got := served(); got.Cmp(first.SerialNumber) != 0 {
		t.Fatalf("serves certificate %v, want the first %v", got, first.SerialNumber)
	}

	_, _, second := testcert.SelfSigned(t, tlsDir)
	roots.AddCert(second)
	before := o.queryAddr.Load()
	if err := o.a.Reload(opsParse(t, dir, text)); err != nil {
		t.Fatalf("reload after the certificate was replaced: %v", err)
	}
	waitFor(t, 10*time.Second, "the query API to restart", func() bool { return o.queryAddr.Load() != before })
	if got := served(); got.Cmp(second.SerialNumber) != 0 {
		t.Fatalf("after the reload serves certificate %v, want the second %v", got, second.SerialNumber)
	}
	if !strings.Contains(o.log.String(), "files_changed=true") {
		t.Error(`the reload did not log files_changed=true`)
	}

	if err := os.WriteFile(keyFile, []byte("-----BEGIN PRIVATE KEY-----\nbroken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	before = o.queryAddr.Load()
	err := o.a.Reload(opsParse(t, dir, text))
	if err == nil || !strings.Contains(err.Error(), "TLS key pair") {
		t.Fatalf("reload with a broken key file: %v, want an error naming the TLS key pair", err)
	}
	if o.queryAddr.Load() != before {
		t.Error("the query API restarted on a refused reload")
	}
	if got := served(); got.Cmp(second.SerialNumber) != 0 {
		t.Errorf("after the refused reload serves certificate %v, want the second %v", got, second.SerialNumber)
	}
	select {
	case err := <-o.done:
		o.done <- err
		t.Fatalf("the agent stopped after a refused reload: %v", err)
	default:
	}
}

// TestOps_ReadNotHeldByFlushInterval: a read of /audit-logs waits until its
// own audit event is stored; that event is shipped at once, not after
// flush_interval (here an hour, far beyond the read's 10 s bound).
func TestOps_ReadNotHeldByFlushInterval(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	text := strings.Replace(opsConfig(opsInput("app", "app-*.log"), ""), `flush_interval = "20ms"`, `flush_interval = "1h"`, 1)
	if !strings.Contains(text, `flush_interval = "1h"`) {
		t.Fatal("opsConfig no longer sets the flush_interval this test rewrites")
	}
	o := opsStart(t, dir, text)
	for i := range 3 {
		code, b := o.get(t, o.queryAddr.Load().(string), "/audit-logs?limit=10&event_name=audit_log")
		if code != 200 {
			t.Fatalf("read %d: %d %s", i, code, b)
		}
		if n := strings.Count(string(b), `"event_type":"read"`); n != i {
			t.Errorf("read %d returned %d earlier reads, want %d", i, n, i)
		}
	}
}

// TestOps_RefusedReadsCounted: refused reads of /audit-logs are counted in
// auditship_query_refused_total by status.
func TestOps_RefusedReadsCounted(t *testing.T) {
	t.Parallel()
	o := opsStart(t, t.TempDir(), opsConfig(opsInput("app", "app-*.log"), ""))
	for _, auth := range []string{"", "Bearer not-a-key-0123456789"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+o.queryAddr.Load().(string)+"/audit-logs", nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("auth %q: status %d, want 401", auth, resp.StatusCode)
		}
	}
	if n := o.metrics(t)[`auditship_query_refused_total{status="401"}`]; n != 2 {
		t.Errorf(`auditship_query_refused_total{status="401"} = %v, want 2`, n)
	}
}

// TestOps_ReloadUncheckedCredentials: while an Elasticsearch output's cluster
// does not answer, a reload that changes its password file is refused (the
// new password cannot be checked), and one that changes nothing of that
// output still applies.
func TestOps_ReloadUncheckedCredentials(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	_ = ln.Close() // nothing answers there now
	pw := filepath.Join(dir, "es-password")
	if err := os.WriteFile(pw, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	es := fmt.Sprintf("\noutput \"elasticsearch\" \"es\" {\n  addresses     = [\"http://%s\"]\n  username      = \"auditship\"\n  password_file = %q\n}\n", down, pw)
	text := opsConfig(opsInput("app", "app-*.log"), es)
	o := opsStart(t, dir, text)

	if err := os.WriteFile(pw, []byte("second\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = o.a.Reload(opsParse(t, dir, text))
	if err == nil || !strings.Contains(err.Error(), "cannot be checked") {
		t.Fatalf("reload with a new password while the cluster is down: %v, want a refusal", err)
	}
	if strings.Contains(o.log.String(), "reload: restarting the delivery side") {
		t.Error("the delivery side restarted on a refused reload")
	}

	if err := os.WriteFile(pw, []byte("first\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	other := strings.Replace(text, "batch_events   = 40", "batch_events   = 30", 1)
	if err := o.a.Reload(opsParse(t, dir, other)); err != nil {
		t.Fatalf("reload that leaves the output as it was: %v", err)
	}
}
