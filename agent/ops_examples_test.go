package agent_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/auditship/auditship/agent/config"
)

// TestOps_KibanaObjects checks examples/kibana/auditship.ndjson: every line
// is a saved object, the data view is on audit-logs* with time field
// event_time, and every other object reaches it, directly or through the
// objects it references.
func TestOps_KibanaObjects(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../examples/kibana/auditship.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	type ref struct{ Name, Type, ID string }
	type object struct {
		Type       string         `json:"type"`
		ID         string         `json:"id"`
		Attributes map[string]any `json:"attributes"`
		References []ref          `json:"references"`
	}
	objs := map[string]object{}
	var order []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		var o object
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			t.Fatalf("line %d: %v", n, err)
		}
		if o.Type == "" || o.ID == "" || o.Attributes["title"] == nil {
			t.Fatalf("line %d: saved object without type, id or title", n)
		}
		// Embedded JSON strings must parse too: Kibana parses them.
		for _, k := range []string{"visState", "panelsJSON", "optionsJSON", "uiStateJSON", "fieldFormatMap"} {
			if s, ok := o.Attributes[k].(string); ok && !json.Valid([]byte(s)) {
				t.Errorf("%s: %s is not valid JSON", o.ID, k)
			}
		}
		if m, ok := o.Attributes["kibanaSavedObjectMeta"].(map[string]any); ok {
			if s, _ := m["searchSourceJSON"].(string); !json.Valid([]byte(s)) {
				t.Errorf("%s: searchSourceJSON is not valid JSON", o.ID)
			}
		}
		objs[o.ID] = o
		order = append(order, o.ID)
	}

	var view string
	for _, id := range order {
		o := objs[id]
		if o.Type == "index-pattern" {
			if o.Attributes["title"] != "audit-logs*" || o.Attributes["timeFieldName"] != "event_time" {
				t.Errorf("data view %s: title %v, time field %v; want audit-logs*, event_time", id, o.Attributes["title"], o.Attributes["timeFieldName"])
			}
			view = id
		}
	}
	if view == "" {
		t.Fatal("no index-pattern (data view) object")
	}
	var reaches func(id string, depth int) bool
	reaches = func(id string, depth int) bool {
		o, ok := objs[id]
		if !ok || depth > 5 {
			return false
		}
		if o.ID == view {
			return true
		}
		for _, r := range o.References {
			if _, ok := objs[r.ID]; !ok {
				t.Errorf("%s references %s %q, which the file does not hold", id, r.Type, r.ID)
				continue
			}
			if reaches(r.ID, depth+1) {
				return true
			}
		}
		return false
	}
	kinds := map[string]int{}
	for _, id := range order {
		kinds[objs[id].Type]++
		if !reaches(id, 0) {
			t.Errorf("%s %s does not reference the audit-logs* data view", objs[id].Type, id)
		}
	}
	if kinds["dashboard"] != 1 || kinds["search"] < 2 || kinds["visualization"] < 3 {
		t.Errorf("objects by type %v; want a dashboard, saved searches and the visualizations", kinds)
	}
	// The dashboard's panels are the objects it references.
	for _, id := range order {
		o := objs[id]
		if o.Type != "dashboard" {
			continue
		}
		var panels []struct {
			PanelRefName string `json:"panelRefName"`
		}
		if err := json.Unmarshal([]byte(o.Attributes["panelsJSON"].(string)), &panels); err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, r := range o.References {
			names[r.Name] = true
		}
		for _, p := range panels {
			if !names[p.PanelRefName] {
				t.Errorf("dashboard panel %q has no reference", p.PanelRefName)
			}
		}
	}
}

// TestOps_SystemdUnit checks the unit against its agent.hcl: the stop timeout
// leaves room above shutdown_timeout, reload sends SIGHUP, and the paths the
// unit makes writable are the ones the config writes to.
func TestOps_SystemdUnit(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../examples/systemd/auditship.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := map[string][]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			unit[k] = append(unit[k], v)
		}
	}
	cfg, _, diags := config.Load("../examples/systemd/agent.hcl")
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	stop, err := time.ParseDuration(strings.Join(unit["TimeoutStopSec"], ""))
	if err != nil || stop <= cfg.ShutdownTimeout {
		t.Errorf("TimeoutStopSec = %v (%v), want more than shutdown_timeout %s", unit["TimeoutStopSec"], err, cfg.ShutdownTimeout)
	}
	if !strings.Contains(strings.Join(unit["ExecReload"], "\n"), "/bin/kill -HUP $MAINPID") {
		t.Errorf("ExecReload = %v, want /bin/kill -HUP $MAINPID", unit["ExecReload"])
	}
	for k, want := range map[string]string{
		"KillSignal": "SIGTERM", "NoNewPrivileges": "yes", "ProtectSystem": "strict", "StateDirectory": "auditship",
		"PrivateTmp": "yes", "ProtectHome": "yes", "SupplementaryGroups": "adm",
	} {
		if got := strings.Join(unit[k], " "); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if cfg.DataDir != "/var/lib/auditship" || !strings.Contains(strings.Join(unit["ReadWritePaths"], " "), cfg.DataDir) {
		t.Errorf("data_dir %s is not the unit's writable state directory %v", cfg.DataDir, unit["ReadWritePaths"])
	}
	exec := regexp.MustCompile(`auditship agent --config (\S+)`).FindStringSubmatch(strings.Join(unit["ExecStart"], ""))
	if exec == nil || exec[1] != "/etc/auditship/agent.hcl" {
		t.Errorf("ExecStart = %v, want the agent on /etc/auditship/agent.hcl", unit["ExecStart"])
	}
}
