package schema

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/auditship/auditship/event"
)

// TestExamples_Logs checks the sample platform logs in examples/logs: every
// line is a JSON object of the documented shape, every audit line passes the
// built-in catalog, and together they cover every built-in (event_name,
// event_type) except audit_log.
func TestExamples_Logs(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("..", "..", "examples", "logs", "*.log"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples/logs/*.log: %v", err)
	}
	c, diags := New(DefaultSettings(), nil)
	if diags.HasErrors() {
		t.Fatalf("New: %s", diags.Error())
	}
	seen := map[nameType]int{}
	eventIDs := map[string]string{} // event_id → where
	logins := map[string]bool{}
	lookalikes := 0
	for _, path := range files {
		service := strings.TrimSuffix(filepath.Base(path), ".log")
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for n := 1; sc.Scan(); n++ {
			where := filepath.Base(path) + ":" + itoa(n)
			var line map[string]any
			dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
			dec.UseNumber()
			if err := dec.Decode(&line); err != nil {
				t.Errorf("%s: decode: %v", where, err)
				continue
			}
			checkCommon(t, where, service, line)
			msg, _ := line["msg"].(string)
			if msg != "audit" {
				if strings.Contains(strings.ToLower(msg), "audit") {
					lookalikes++
				}
				continue
			}
			a, ok := line["audit"].(map[string]any)
			if !ok {
				t.Errorf("%s: audit line without an audit object", where)
				continue
			}
			if _, ok := line["request_id"].(string); !ok {
				t.Errorf("%s: audit line without request_id", where)
			}
			name, _ := a["resource"].(string)
			typ, _ := a["action"].(string)
			d, _ := a["details"].(map[string]any)
			if _, err := jsonInt(a["user_uid"]); err != nil {
				t.Errorf("%s: audit.user_uid: %v", where, err)
			}
			if id, ok := a["event_id"]; ok {
				if _, err := jsonInt(id); err != nil {
					t.Errorf("%s: audit.event_id: %v", where, err)
				}
				s := id.(json.Number).String()
				if prev, dup := eventIDs[s]; dup {
					t.Errorf("%s: event_id %s already used at %s", where, s, prev)
				}
				eventIDs[s] = where
			} else if service == "auth-service" {
				t.Errorf("%s: auth-service audit lines carry event_id", where)
			}
			if name == "api_key" {
				if k, _ := d["censored_key"].(string); !isCensored(k) || Censor(k) != k {
					t.Errorf("%s: censored_key %q is not censored by the platform", where, k)
				}
			}
			if name == "login" {
				u, _ := d["username"].(string)
				logins[u] = true
			}
			e := &event.Event{Name: name, Type: typ, Details: d}
			if err := c.Apply(e); err != nil {
				t.Errorf("%s: Apply(%s/%s): %v", where, name, typ, err)
			}
			seen[nameType{name, typ}]++
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("read %s: %v", path, err)
		}
	}
	for _, b := range Builtin() {
		if b.Name == "audit_log" {
			continue
		}
		for _, typ := range b.EventTypes {
			if seen[nameType{b.Name, typ}] == 0 {
				t.Errorf("no audit line for (%s, %s) in examples/logs", b.Name, typ)
			}
		}
	}
	// One line (application update) carries a bearer token in its changes
	// that the platform forgot to mask; the detector must catch it.
	if got := c.Redacted(); got != 1 {
		t.Errorf("Redacted() = %d after the examples, want 1", got)
	}
	if len(logins) < 3 {
		t.Errorf("logins by %d users, want at least 3", len(logins))
	}
	if lookalikes < 3 {
		t.Errorf("%d lines merely look like audit lines, want at least 3", lookalikes)
	}
}

// checkCommon checks the fields every line has.
func checkCommon(t *testing.T, where, service string, line map[string]any) {
	t.Helper()
	ts, _ := line["ts"].(string)
	tm, err := time.Parse(time.RFC3339Nano, ts)
	switch {
	case err != nil:
		t.Errorf("%s: ts: %v", where, err)
	case !strings.HasSuffix(ts, "Z") || len(ts) != len("2026-11-28T09:12:01.123456Z"):
		t.Errorf("%s: ts %q: want UTC RFC 3339 with microseconds", where, ts)
	case tm.Year() != 2026 || tm.Month() != time.November:
		t.Errorf("%s: ts %q: want November 2026", where, ts)
	}
	if got := line["service"]; got != service {
		t.Errorf("%s: service = %v, want %q", where, got, service)
	}
	switch line["level"] {
	case "debug", "info", "warn", "error":
	default:
		t.Errorf("%s: level = %v", where, line["level"])
	}
	if line["msg"] == "request completed" {
		for _, k := range []string{"method", "path", "status", "duration_ms", "request_id"} {
			if _, ok := line[k]; !ok {
				t.Errorf("%s: request line without %s", where, k)
			}
		}
	}
}

func jsonInt(v any) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, &ValidationError{Path: "value", Reason: "want integer, got " + describe(v, false)}
	}
	return n.Int64()
}

func itoa(n int) string { return strconv.Itoa(n) }
