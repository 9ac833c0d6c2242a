package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/agent"
	"github.com/auditship/auditship/agent/config"
	"github.com/auditship/auditship/internal/testes"
	"github.com/auditship/auditship/query"
)

const (
	envKey    = "superadmin-key-from-the-environment"
	hclKey    = "ops-key-configured-by-hash"
	viewerKey = "viewer-key-configured-by-hash"
)

// startAgent runs the real agent in-process on an empty log directory with
// the embedded store and a query block; it returns the query address.
func startAgent(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := fmt.Sprintf(`
data_dir = "data"
input "file" "app" {
  paths = ["logs/*.log"]
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
pipeline {
  flush_interval = "20ms"
}
output "sqlite" "store" {}
query {
  listen = "127.0.0.1:0"
  api_key "ops" {
    sha256 = %q
    role   = "superadmin"
  }
  api_key "dashboard" {
    sha256 = %q
    role   = "viewer"
  }
}
`, query.HashKey(hclKey), query.HashKey(viewerKey))
	p := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, diags := config.Load(p)
	if diags.HasErrors() {
		t.Fatalf("config: %v", diags)
	}
	ready := make(chan string, 1)
	a, err := agent.New(cfg, nil, agent.Options{
		// As cmd/auditship does it.
		SuperadminKey: os.Getenv("AUDITSHIP_SUPERADMIN_KEY"),
		KeyNotice:     func(string, string) { t.Error("a superadmin key was generated although one was given") },
		Ready:         func(addr string) { ready <- addr },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("agent Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("agent did not stop within 30s")
		}
	})
	select {
	case addr := <-ready:
		if _, err := os.Stat(filepath.Join(cfg.DataDir, query.KeyFile)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("stat %s = %v; want no generated key file when AUDITSHIP_SUPERADMIN_KEY is set", query.KeyFile, err)
		}
		return addr
	case err := <-done:
		t.Fatalf("agent stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("query API not listening after 30s")
	}
	return ""
}

// rawEvent is an event of a response with details decoded for comparison.
type rawEvent struct {
	Name    string         `json:"event_name"`
	Type    string         `json:"event_type"`
	Details map[string]any `json:"event_details"`
	UserUID int64          `json:"user_uid"`
}

func getAs(t *testing.T, client *http.Client, addr, pathQuery, key string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://"+addr+pathQuery, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestAuthMatrix runs the real agent with a superadmin key from the
// environment and one from HCL: only those two read, and each successful
// read leaves its own audit_log/read event in the store.
func TestAuthMatrix(t *testing.T) {
	t.Setenv("AUDITSHIP_SUPERADMIN_KEY", envKey)
	addr := startAgent(t)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	tests := []struct {
		name, key, query string
		status           int
		code             string
	}{
		{"no key", "", "?limit=2", 401, "unauthorized"},
		{"wrong key", "not-a-key", "?limit=2", 401, "unauthorized"},
		{"hash of a key as key", query.HashKey(hclKey), "?limit=2", 401, "unauthorized"},
		{"non-superadmin key", viewerKey, "?limit=2", 403, "forbidden"},
		{"superadmin from hcl", hclKey, "?user_uid=7&user_uid=8&limit=5", 200, ""},
		{"superadmin from environment", envKey, "?event_type=nothing", 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, b := getAs(t, client, addr, "/audit-logs"+tt.query, tt.key)
			if status != tt.status {
				t.Fatalf("status %d, want %d; body %s", status, tt.status, b)
			}
			if tt.code != "" {
				var e struct{ Error, Message string }
				if err := json.Unmarshal(b, &e); err != nil || e.Error != tt.code || e.Message == "" {
					t.Errorf("body %s, want error %q with a message", b, tt.code)
				}
			}
		})
	}

	// The two successful reads above are audited; the polls below are
	// audited too, so the superadmin's own read of the audit_log events
	// must show up with a result_count of at least 1.
	readsOf := func(evs []rawEvent, keyName string) []rawEvent {
		var out []rawEvent
		for _, e := range evs {
			if e.Details["key_name"] == keyName {
				out = append(out, e)
			}
		}
		return out
	}
	poll := "/audit-logs?event_name=audit_log&event_type=read&limit=100"
	var evs []rawEvent
	testes.Poll(t, 20*time.Second, func() error {
		status, b := getAs(t, client, addr, poll, envKey)
		if status != 200 {
			return fmt.Errorf("status %d: %s", status, b)
		}
		evs = nil
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&evs); err != nil {
			return err
		}
		for _, e := range readsOf(evs, query.SuperadminKeyName) {
			if p, _ := e.Details["parameters"].(map[string]any); p != nil && p["limit"] != nil && p["event_name"] != nil {
				if n, _ := e.Details["result_count"].(json.Number).Int64(); n >= 1 && len(readsOf(evs, "ops")) > 0 {
					return nil
				}
			}
		}
		return fmt.Errorf("audit_log/read events not stored yet: %d so far", len(evs))
	})

	ops := readsOf(evs, "ops")
	if len(ops) != 1 {
		t.Fatalf("%d audit_log/read events of key ops, want 1: %+v", len(ops), ops)
	}
	want := rawEvent{Name: "audit_log", Type: "read", UserUID: 0, Details: map[string]any{
		"key_name":     "ops",
		"parameters":   map[string]any{"user_uid": []any{"7", "8"}, "limit": []any{"5"}},
		"result_count": json.Number("0"),
		"remote_addr":  "127.0.0.1",
	}}
	if diff := gocmp.Diff(want, ops[0]); diff != "" {
		t.Errorf("audit event of the HCL key's read (-want +got):\n%s", diff)
	}
	var env *rawEvent
	for _, e := range readsOf(evs, query.SuperadminKeyName) {
		if p, _ := e.Details["parameters"].(map[string]any); p != nil && p["event_type"] != nil && p["event_name"] == nil {
			env = &e
		}
	}
	if env == nil {
		t.Fatalf("no audit_log/read event of the environment key's read ?event_type=nothing in %+v", evs)
	}
	want.Details = map[string]any{
		"key_name":     "superadmin",
		"parameters":   map[string]any{"event_type": []any{"nothing"}},
		"result_count": json.Number("0"),
		"remote_addr":  "127.0.0.1",
	}
	if diff := gocmp.Diff(want, *env); diff != "" {
		t.Errorf("audit event of the environment key's read (-want +got):\n%s", diff)
	}
	if got := readsOf(evs, "dashboard"); len(got) != 0 {
		t.Errorf("refused reads were audited as reads: %+v", got)
	}
	for _, e := range evs {
		if k := e.Details["key_name"]; k != "ops" && k != query.SuperadminKeyName {
			t.Errorf("audit_log/read event with key_name %v: only superadmin keys read", k)
		}
	}
}
