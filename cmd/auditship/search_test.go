package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs/sqlite"
)

// searchFixture writes a config and a store with events, and keeps the
// store open read-write for the test, as a running agent would.
func searchFixture(t *testing.T) (cfgPath string, now time.Time) {
	t.Helper()
	dir := t.TempDir()
	cfgPath = filepath.Join(dir, "agent.hcl")
	src := `
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
output "sqlite" "store" {}
query {
  listen = "127.0.0.1:0"
}
`
	if err := os.WriteFile(cfgPath, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.New(sqlite.DefaultConfig(), filepath.Join(dir, "data"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	now = time.Now().UTC().Truncate(time.Microsecond)
	evs := []event.Event{
		{ID: 1, Time: now.Add(-48 * time.Hour), Name: "user", Type: "create", UserUID: 7, Details: map[string]any{"email": "a@example.com"}},
		{ID: 2, Time: now.Add(-3 * time.Hour), Name: "dataset", Type: "delete", UserUID: 8, Details: map[string]any{"name": "tab\tand\nnewline"}},
		{ID: 3, Time: now.Add(-2 * time.Hour), Name: "api_key", Type: "create", UserUID: 7, Details: map[string]any{"id": json.Number("12")}},
		{ID: 4, Time: now.Add(-1 * time.Hour), Name: "user", Type: "login", UserUID: 9, Details: map[string]any{}},
	}
	if err := st.Write(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	return cfgPath, now
}

// runBin runs the auditship binary and returns stdout, stderr and the exit code.
func runBin(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), binPath, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

func TestQuerySearch(t *testing.T) {
	t.Parallel()
	cfg, now := searchFixture(t)
	tests := []struct {
		name string
		args []string
		want []int64
	}{
		{"defaults newest first", nil, []int64{4, 3, 2, 1}},
		{"event name repeated", []string{"--event-name", "user", "--event-name", "api_key"}, []int64{4, 3, 1}},
		{"event type", []string{"--event-type", "create", "--order", "asc"}, []int64{1, 3}},
		{"user uid", []string{"--user-uid", "7", "--user-uid", "9"}, []int64{4, 3, 1}},
		{"since", []string{"--since", "24h"}, []int64{4, 3, 2}},
		{"time range", []string{"--start-time", event.FormatTime(now.Add(-3 * time.Hour)), "--end-time", now.Add(-time.Hour).Format(time.RFC3339Nano)}, []int64{3, 2}},
		{"limit", []string{"--limit", "2", "--order", "asc"}, []int64{1, 2}},
		{"and", []string{"--event-name", "user", "--user-uid", "7"}, []int64{1}},
		{"nothing", []string{"--event-name", "nothing"}, []int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Not a terminal: JSON by default.
			stdout, stderr, code := runBin(t, append([]string{"query", "search", "--config", cfg}, tt.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			var evs []event.Event
			if err := json.Unmarshal([]byte(stdout), &evs); err != nil {
				t.Fatalf("stdout is not a JSON list: %v\n%s", err, stdout)
			}
			got := []int64{}
			for _, e := range evs {
				got = append(got, e.ID)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("event ids (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("json is the API body", func(t *testing.T) {
		t.Parallel()
		stdout, stderr, code := runBin(t, "query", "search", "-c", cfg, "--event-name", "api_key", "--output", "json")
		want := `[{"event_id":3,"event_time":"` + event.FormatTime(now.Add(-2*time.Hour)) + `","event_name":"api_key","event_type":"create","event_details":{"id":12},"user_uid":7}]` + "\n"
		if code != 0 || stdout != want {
			t.Errorf("exit %d, stdout %q, want %q; stderr %s", code, stdout, want, stderr)
		}
	})
	t.Run("ndjson", func(t *testing.T) {
		t.Parallel()
		stdout, stderr, code := runBin(t, "query", "search", "-c", cfg, "--output", "ndjson", "--order", "asc")
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		if code != 0 || len(lines) != 4 {
			t.Fatalf("exit %d, %d lines; stdout %q stderr %s", code, len(lines), stdout, stderr)
		}
		for i, l := range lines {
			var e event.Event
			if err := json.Unmarshal([]byte(l), &e); err != nil || e.ID != int64(i+1) {
				t.Errorf("line %d %q: %v", i, l, err)
			}
		}
	})
	t.Run("table", func(t *testing.T) {
		t.Parallel()
		stdout, stderr, code := runBin(t, "query", "search", "-c", cfg, "--output", "table", "--order", "asc")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
		if len(lines) != 5 || !strings.HasPrefix(lines[0], "EVENT_TIME (UTC)") {
			t.Fatalf("table %q: want a header and 4 rows", stdout)
		}
		// Every column starts at the same offset on every line.
		col := regexp.MustCompile(`\S+(?: \S+)*`)
		starts := func(l string) []int {
			var s []int
			for _, m := range col.FindAllStringIndex(l, -1) {
				s = append(s, m[0])
			}
			return s
		}
		head := starts(lines[0])
		for _, l := range lines[1:] {
			if got := starts(l); len(got) < 6 || !cmp.Equal(head[:5], got[:5]) {
				t.Errorf("row %q columns start at %v, header at %v", l, got, head)
			}
		}
		if !strings.Contains(lines[2], `{"name":"tab\tand\nnewline"}`) {
			t.Errorf("row %q: details should be compact JSON", lines[2])
		}
	})
	t.Run("usage errors", func(t *testing.T) {
		t.Parallel()
		for _, args := range [][]string{
			{"--since", "yesterday"},
			{"--since", "1h", "--start-time", "2021-08-17"},
			{"--start-time", "nope"},
			{"--start-time", "2021-08-18", "--end-time", "2021-08-17"},
			{"--user-uid", "x"},
			{"--limit", "0"},
			{"--output", "xml"},
			{"--order", "up"},
		} {
			_, stderr, code := runBin(t, append([]string{"query", "search", "-c", cfg}, args...)...)
			if code != 2 || !strings.Contains(stderr, "auditship: ") {
				t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, code, stderr)
			}
		}
	})
	t.Run("missing store", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		p := filepath.Join(dir, "agent.hcl")
		b, _ := os.ReadFile(cfg)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, stderr, code := runBin(t, "query", "search", "-c", p)
		if code != 1 || !strings.Contains(stderr, "store") {
			t.Errorf("exit %d, stderr %q; want 1 naming the output", code, stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, "data", "audit.db")); err == nil {
			t.Error("search created a database; it must only read")
		}
	})
}
