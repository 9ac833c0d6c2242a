package agent_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestOps_OverlappingInputs runs two inputs whose globs both match
// app-1.log: the file is read once, by the first input of the config, and
// the second one warns that it leaves the file alone; a file only the second
// matches is read by it. Before inputs claimed files, both read app-1.log
// and which mapping its events came from was a race.
func TestOps_OverlappingInputs(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	app := opsInput("app", "app-*.log")
	all := strings.Replace(opsInput("all", "*.log"), "event_type    = record.audit.action", `event_type    = "read_by_all"`, 1)
	if !strings.Contains(all, "read_by_all") {
		t.Fatal("the second input's mapping was not changed")
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	w := newOpsWriter(dir)
	w.audit(t, "app-1.log", 40)
	w.audit(t, "other-1.log", 10)
	o := opsStart(t, dir, opsConfig(app+all, ""))
	w.audit(t, "app-1.log", 40)
	o.checkStored(t, w.wanted())

	code, b := o.get(t, o.queryAddr.Load().(string), "/audit-logs?limit=10000&event_name=ops_item")
	if code != 200 {
		t.Fatalf("GET /audit-logs: %d %s", code, b)
	}
	var evs []struct {
		Type    string         `json:"event_type"`
		Details map[string]any `json:"event_details"`
	}
	if err := json.Unmarshal(b, &evs); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"app-1.log": "create", "other-1.log": "read_by_all"}
	for _, e := range evs {
		file := fmt.Sprint(e.Details["file"])
		if e.Type != want[file] {
			t.Errorf("%s/%v: event_type %q, want %q", file, e.Details["seq"], e.Type, want[file])
		}
	}
	waitFor(t, 5*time.Second, "the warning", func() bool {
		return strings.Contains(o.log.String(), "file matched by an earlier input is left to it")
	})
	if n := strings.Count(o.log.String(), "file matched by an earlier input is left to it"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, o.log.tail(40))
	}
	if !strings.Contains(o.log.String(), "read_by=app") {
		t.Errorf("the warning does not name the input that reads the file:\n%s", o.log.tail(40))
	}
}
