package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/agent/deadletter"
)

// replayConfig writes dir/NAME.hcl: the logs under dir/logs, the data under
// dir/DATA, with the given event_time and event_name expressions.
func replayConfig(t *testing.T, dir, name, data, eventTime, eventName string) string {
	t.Helper()
	cfg := fmt.Sprintf(`
data_dir = %q

input "file" "app" {
  paths = ["logs/*.log"]
  parser "json" {}
  mapping {
    when          = record.msg == "audit"
    event_time    = %s
    event_name    = %s
    event_type    = record.audit.action
    event_details = record.audit.details
    user_uid      = record.audit.user_uid
  }
}

schema "e2e_item" {
  details = object({ seq = number, file = string })
}

pipeline {
  batch_events = 4
}

output "sqlite" "store" {}
`, data, eventTime, eventName)
	p := filepath.Join(dir, name+".hcl")
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDeadletterReplay dead-letters every audit line with a broken config,
// replays through a config still broken (records stay, with the new
// reason), then through the fixed one (events stored under the ids the
// agent gives them, file emptied), then again, and after a simulated crash
// between delivery and rewrite: nothing is stored twice.
func TestDeadletterReplay(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	w := newWriter(t, dir)
	w.write("a.log", 9) // 6 audit lines, 3 ordinary
	w.write("b.log", 6) // 4 audit lines, 2 ordinary
	audits := len(w.want)

	broken := replayConfig(t, dir, "broken", "data", "record.time", "record.audit.resource")
	stillBroken := replayConfig(t, dir, "still", "data", "record.ts", `"x_${record.audit.resource}"`)
	fixed := replayConfig(t, dir, "fixed", "data", "record.ts", "record.audit.resource")
	reference := replayConfig(t, dir, "reference", "ref", "record.ts", "record.audit.resource")
	dlPath := filepath.Join(dir, "data", "deadletter.ndjson")

	run := func(wantCode int, args ...string) string {
		t.Helper()
		out, err := exec.Command(binPath, args...).CombinedOutput()
		if code := exitCode(err); code != wantCode {
			t.Fatalf("%s: exit %d (%v), want %d\n%s", strings.Join(args, " "), code, err, wantCode, out)
		}
		return string(out)
	}
	reasons := func() map[string]int {
		t.Helper()
		recs, err := deadletter.ReadFile(dlPath)
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]int{}
		for _, r := range recs {
			m[r.Reason]++
		}
		return m
	}

	run(3, "agent", "--config", broken, "--once", "--log-level", "error")
	if diff := cmp.Diff(map[string]int{"mapping: event_time: record.time is missing": audits}, reasons()); diff != "" {
		t.Fatalf("dead-letters after the broken run (-want +got):\n%s", diff)
	}
	if got := storedEvents(t, filepath.Join(dir, "data")); len(got) != 0 {
		t.Fatalf("broken run stored %d events", len(got))
	}

	out := run(3, "deadletter", "replay", "--config", stillBroken)
	if !strings.Contains(out, fmt.Sprintf("%d record(s) replayed: 0 delivered, 0 skipped, %d still dead-lettered", audits, audits)) {
		t.Errorf("replay summary:\n%s", out)
	}
	for reason, n := range reasons() {
		if n != audits || !strings.HasPrefix(reason, "schema: ") || !strings.Contains(reason, "x_e2e_item") {
			t.Fatalf("after a replay through a still broken config: %d record(s) with reason %q; want all %d with the new schema reason", n, reason, audits)
		}
	}
	saved, err := os.ReadFile(dlPath)
	if err != nil {
		t.Fatal(err)
	}

	out = run(0, "deadletter", "replay", "--config", fixed, "--log-format", "json", "--log-level", "warn")
	if !strings.Contains(out, fmt.Sprintf("%d record(s) replayed: %d delivered, 0 skipped, 0 still dead-lettered", audits, audits)) {
		t.Errorf("replay summary:\n%s", out)
	}
	if got := reasons(); len(got) != 0 {
		t.Errorf("dead-letter file after the fixing replay: %v, want empty", got)
	}
	stored := storedEvents(t, filepath.Join(dir, "data"))
	if len(stored) != audits {
		t.Fatalf("stored %d events, want %d", len(stored), audits)
	}

	// The ids are those the agent gives the lines with the fixed config
	// from the start.
	run(0, "agent", "--config", reference, "--once", "--log-level", "error")
	want := storedEvents(t, filepath.Join(dir, "ref"))
	if diff := cmp.Diff(want, stored); diff != "" {
		t.Errorf("replayed events vs events of a first run with the fixed config (-first run +replay):\n%s", diff)
	}

	run(0, "deadletter", "replay", "--config", fixed)
	// A crash after delivery and before the rewrite leaves the old file.
	if err := os.WriteFile(dlPath, saved, 0o600); err != nil {
		t.Fatal(err)
	}
	run(0, "deadletter", "replay", "--config", fixed)
	if diff := cmp.Diff(stored, storedEvents(t, filepath.Join(dir, "data"))); diff != "" {
		t.Errorf("events after replaying again (-before +after):\n%s", diff)
	}
	if got := reasons(); len(got) != 0 {
		t.Errorf("dead-letter file after the last replay: %v, want empty", got)
	}
}
