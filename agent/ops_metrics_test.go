package agent_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestOps_Metrics writes audit lines, ordinary lines, lines that are not
// JSON and audit lines that break their schema, and checks that the
// counters on /metrics equal what was written.
func TestOps_Metrics(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := opsStart(t, dir, opsConfig(opsInput("app", "app-*.log"), ""))
	w := newOpsWriter(dir)

	const audits, ordinary, garbage, badSchema, secrets = 60, 25, 4, 3, 2
	w.audit(t, "app-1.log", audits/2)
	for range ordinary {
		w.raw(t, "app-1.log", `{"ts":"2026-11-30T08:00:00Z","msg":"request completed","password":"hunter2"}`+"\n")
	}
	for range garbage {
		w.raw(t, "app-2.log", "this is not json token=s3cr3t\n")
	}
	for range badSchema {
		w.raw(t, "app-2.log", `{"ts":"2026-11-30T08:00:00Z","msg":"audit","audit":{"resource":"ops_item","action":"create","user_uid":1,"details":{"seq":"s3cr3t","file":"x"}}}`+"\n")
	}
	w.audit(t, "app-2.log", audits/2-secrets)
	for i := range secrets {
		w.raw(t, "app-2.log", fmt.Sprintf(`{"ts":"2026-11-30T08:00:00Z","msg":"audit","audit":{"resource":"ops_item","action":"create","user_uid":1,"details":{"seq":%d,"file":"key AKIAABCDEFGHIJKLMNOP"}}}`+"\n", 100000+i))
	}
	const total = audits + ordinary + garbage + badSchema

	key := func(name, labels string) string { return name + "{" + labels + "}" }
	var m map[string]float64
	waitFor(t, 30*time.Second, "every line shipped or dead-lettered", func() bool {
		m = o.metrics(t)
		return m[key("auditship_events_shipped_total", `output="store"`)] >= audits &&
			m[key("auditship_lines_read_total", `input="app"`)] >= total &&
			m[`auditship_input_lag_bytes{input="app"}`] == 0 &&
			m["auditship_registry_writes_total"] >= 1 // saved on a timer, after the acks
	})
	for name, want := range map[string]float64{
		key("auditship_lines_read_total", `input="app"`):                     total,
		key("auditship_lines_skipped_total", `input="app"`):                  ordinary,
		key("auditship_events_shipped_total", `output="store"`):              audits,
		key("auditship_output_items_total", `outcome="done",output="store"`): audits,
		key("auditship_events_dead_lettered_total", `reason="parse"`):        garbage,
		key("auditship_events_dead_lettered_total", `reason="schema"`):       badSchema,
		key("auditship_input_lag_bytes", `input="app"`):                      0,
		key("auditship_open_files", `input="app"`):                           2,
		"auditship_output_write_duration_seconds_count{output=\"store\"}":    m["auditship_output_write_duration_seconds_count{output=\"store\"}"],
	} {
		if got, ok := m[name]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	for _, name := range []string{"auditship_registry_writes_total", "auditship_output_write_duration_seconds_count{output=\"store\"}"} {
		if m[name] < 1 {
			t.Errorf("%s = %v, want at least 1", name, m[name])
		}
	}
	if got := m["auditship_secrets_redacted_total"]; got != secrets {
		t.Errorf("auditship_secrets_redacted_total = %v, want %d", got, secrets)
	}
	if _, ok := m["auditship_oldest_unacked_event_age_seconds"]; !ok {
		t.Error("auditship_oldest_unacked_event_age_seconds missing from /metrics")
	}
	want := w.wanted()
	for i := range secrets {
		want[fmt.Sprintf("key ****************MNOP/%d", 100000+i)] = true // censored
	}
	o.checkStored(t, want)

	t.Run("health", func(t *testing.T) {
		code, b := o.get(t, o.httpAddr.Load().(string), "/healthz")
		if code != 200 || !strings.Contains(string(b), `"status":"ok"`) {
			t.Errorf("/healthz: %d %s", code, b)
		}
		code, b = o.get(t, o.httpAddr.Load().(string), "/readyz")
		var r struct {
			Status string            `json:"status"`
			Checks map[string]string `json:"checks"`
		}
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatalf("/readyz body %s: %v", b, err)
		}
		if code != 200 || r.Status != "ok" || r.Checks["output store"] != "ok" || r.Checks["pipeline"] != "ok" {
			t.Errorf("/readyz: %d %s", code, b)
		}
	})

	// Details may appear at Debug; raw lines never, and nothing of either
	// above Debug.
	t.Run("no secrets logged", func(t *testing.T) {
		for _, line := range strings.Split(o.log.String(), "\n") {
			if strings.Contains(line, "this is not json") || strings.Contains(line, "hunter2") {
				t.Errorf("a raw line is logged: %s", line)
			}
			if !strings.Contains(line, "level=DEBUG") && strings.Contains(line, "s3cr3t") {
				t.Errorf("a detail value is logged above Debug: %s", line)
			}
		}
	})
}
