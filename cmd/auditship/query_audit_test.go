package main

import (
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"
)

// TestQuery_AuditsReads: reads served by the standalone `auditship query`
// are audited like the agent's, before the events are served.
func TestQuery_AuditsReads(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg, addr := testConfig(t, dir, "")
	w := newWriter(t, dir)
	w.write("a.log", 9)
	if out, err := exec.Command(binPath, "agent", "--once", "--config", cfg).CombinedOutput(); err != nil {
		t.Fatalf("agent --once: %v\n%s", err, out)
	}

	cmd := exec.Command(binPath, "query", "--config", cfg)
	cmd.Env = append(os.Environ(), "AUDITSHIP_SUPERADMIN_KEY="+testKey)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("auditship query did not listen on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}

	if code, body, _ := getEvents(t, addr, testKey, "?limit=5&event_name=e2e_item"); code != 200 {
		t.Fatalf("first read: %d %s", code, body)
	}
	code, body, _ := getEvents(t, addr, testKey, "?event_name=audit_log")
	if code != 200 {
		t.Fatalf("second read: %d %s", code, body)
	}
	var reads []apiEvent
	if err := json.Unmarshal(body, &reads); err != nil {
		t.Fatal(err)
	}
	if len(reads) != 1 {
		t.Fatalf("%d audit_log events after one read, want 1: %s", len(reads), body)
	}
	r := reads[0]
	if r.Type != "read" || r.Details["key_name"] != "superadmin" || r.Details["result_count"] != float64(5) {
		t.Errorf("audit of the read = %+v, want read by superadmin of 5 events", r)
	}
}
