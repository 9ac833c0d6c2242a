package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/agent/deadletter"
	"github.com/auditship/auditship/outputs"
	"github.com/auditship/auditship/outputs/sqlite"
)

// mixedLines are audit lines, ordinary lines and lines each bad in its own
// way, for the e2e_item schema of testConfig.
var mixedLines = []string{
	`{"ts":"2026-11-30T08:00:00.001Z","msg":"audit","audit":{"resource":"e2e_item","action":"create","user_uid":1,"details":{"seq":1,"file":"m"}}}`,
	`{"ts":"2026-11-30T08:00:00.002Z","msg":"request completed","status":200}`,
	`this is not json`,
	`{"msg":"audit","audit":{"resource":"e2e_item","action":"create","user_uid":1,"details":{"seq":3,"file":"m"}}}`,
	`{"ts":"2026-11-30T08:00:00.004Z","msg":"audit","audit":{"resource":"e2e_item","action":"create","user_uid":1,"details":{"seq":"four","file":"m"}}}`,
	``,
	`{"ts":"2026-11-30T08:00:00.006Z","msg":"audit","audit":{"resource":"no_such_name","action":"create","user_uid":1,"details":{}}}`,
	`{"ts":"2026-11-30T08:00:00.007Z","msg":"audit","audit":{"resource":"e2e_item","action":"create","user_uid":"seven","details":{"seq":7,"file":"m"}}}`,
	`{"ts":"2026-11-30T08:00:00.008Z","msg":"audit","audit":{"resource":"e2e_item","action":"delete","user_uid":2,"details":{"seq":8,"file":"m"}}}`,
}

// sampleLine is one "FILE:LINE: ..." line of validate --sample.
var sampleLine = regexp.MustCompile(`^(.+):(\d+): (event (\{.*\})|skipped|dead-letter: (.*))$`)

// TestValidate_SampleMatchesAgent checks that validate --sample reports
// exactly the lines, with exactly the reasons, that the agent then
// dead-letters from the same file, and the event ids the agent stores.
func TestValidate_SampleMatchesAgent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg, _ := testConfig(t, dir, "")
	logPath := filepath.Join(dir, "logs", "mixed.log")
	content := strings.Join(mixedLines, "\n") + "\n"
	if err := os.WriteFile(logPath, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	offsets := map[int]int64{} // line number → byte offset
	var off int64
	for i, l := range mixedLines {
		offsets[i+1] = off
		off += int64(len(l)) + 1
	}

	cmd := exec.Command(binPath, "validate", "--config", cfg, "--sample", logPath)
	out, err := cmd.Output()
	if code := exitCode(err); code != 3 {
		t.Fatalf("validate --sample: exit %d (%v), want 3\n%s", code, err, out)
	}
	wantDL := map[int64]string{}
	var wantIDs []int64
	skipped := 0
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		m := sampleLine.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		n, _ := strconv.Atoi(m[2])
		switch {
		case m[4] != "":
			var ev struct {
				ID int64 `json:"event_id"`
			}
			if err := json.Unmarshal([]byte(m[4]), &ev); err != nil {
				t.Fatalf("event of line %d: %v", n, err)
			}
			wantIDs = append(wantIDs, ev.ID)
		case m[3] == "skipped":
			skipped++
		default:
			wantDL[offsets[n]] = m[5]
		}
	}
	if len(wantDL) != 5 || len(wantIDs) != 2 || skipped != 1 {
		t.Fatalf("validate found %d dead-letters, %d events, %d skipped; want 5, 2, 1:\n%s", len(wantDL), len(wantIDs), skipped, out)
	}
	if !strings.Contains(string(out), "2 event(s), 1 skipped, 5 dead-lettered") {
		t.Errorf("summary missing:\n%s", out)
	}
	for _, want := range []string{"parse json: invalid JSON", "event_time: record.ts is missing", "event_details.seq: want number", "no_such_name", "user_uid:"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("validate output does not mention %q:\n%s", want, out)
		}
	}

	cmd = exec.Command(binPath, "agent", "--config", cfg, "--once", "--log-level", "error")
	if out, err := cmd.CombinedOutput(); exitCode(err) != 3 {
		t.Fatalf("agent --once: exit %d (%v), want 3\n%s", exitCode(err), err, out)
	}
	recs, err := deadletter.ReadFile(filepath.Join(dir, "data", "deadletter.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	gotDL := map[int64]string{}
	for _, r := range recs {
		gotDL[r.Offset] = r.Reason
	}
	if diff := cmp.Diff(wantDL, gotDL); diff != "" {
		t.Errorf("dead-letters by offset (-validate +agent):\n%s", diff)
	}
	var gotIDs []int64
	for _, e := range storedEvents(t, filepath.Join(dir, "data")) {
		gotIDs = append(gotIDs, e.ID)
	}
	if diff := cmp.Diff(wantIDs, gotIDs); diff != "" {
		t.Errorf("event ids (-validate +agent):\n%s", diff)
	}
}

// TestValidate_SampleInput checks the choice of input and the exit codes
// around samples.
func TestValidate_SampleInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg, _ := testConfig(t, dir, `
input "file" "other" {
  paths = ["other/*.log"]
  parser "json" {}
  mapping {
    event_time = record.ts
    event_name = "e2e_item"
    event_type = "other"
    event_details = { seq = 1, file = "o" }
    user_uid = 9
  }
}`)
	good := filepath.Join(dir, "logs", "good.log")
	if err := os.WriteFile(good, []byte(mixedLines[0]+"\n"+mixedLines[1]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"paths match", []string{"--sample", good}, 0, `input "app" (its paths match)`},
		{"named input", []string{"--sample", good, "--input", "other"}, 0, `"event_type":"other"`},
		{"unknown input", []string{"--sample", good, "--input", "nope"}, 2, `no input named "nope"`},
		{"missing file", []string{"--sample", filepath.Join(dir, "nope.log")}, 1, "open sample"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := exec.Command(binPath, append([]string{"validate", "--config", cfg}, tc.args...)...).CombinedOutput()
			if code := exitCode(err); code != tc.code {
				t.Fatalf("exit %d, want %d\n%s", code, tc.code, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("output lacks %q:\n%s", tc.want, out)
			}
		})
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errorsAs(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// storedEvents reads every event of the sqlite store in dataDir, oldest
// first.
func storedEvents(t *testing.T, dataDir string) []eventRow {
	t.Helper()
	s, err := sqlite.New(sqlite.DefaultConfig(), dataDir, discardLogger())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(t.Context()); err != nil {
			t.Error(err)
		}
	}()
	evs, err := s.Search(t.Context(), outputs.Query{Limit: 10000, Order: outputs.Asc})
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]eventRow, 0, len(evs))
	for _, e := range evs {
		rows = append(rows, eventRow{ID: e.ID, Name: e.Name, Seq: fmt.Sprint(e.Details["seq"])})
	}
	return rows
}

// eventRow is the part of a stored event the tests compare.
type eventRow struct {
	ID   int64
	Name string
	Seq  string
}
