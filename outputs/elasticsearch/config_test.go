package elasticsearch

import (
	"encoding/json"
	"github.com/auditship/auditship/internal/jsonstr"
	"slices"
	"strconv"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
)

func TestConfig_Validate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(c *Config)
		want   []string // summaries
	}{
		{"defaults with an address", func(*Config) {}, nil},
		{"no addresses", func(c *Config) { c.Addresses = nil }, []string{"Missing addresses"}},
		{"bad scheme", func(c *Config) { c.Addresses = []string{"ftp://x"} }, []string{"Invalid addresses"}},
		{"password in url", func(c *Config) { c.Addresses = []string{"http://u:secret@x:9200"} }, []string{"Invalid addresses"}},
		{"two passwords", func(c *Config) { c.Username, c.PasswordEnv, c.PasswordFile = "u", "E", "f" }, []string{"Conflicting password"}},
		{"password without user", func(c *Config) { c.PasswordEnv = "E" }, []string{"Missing username"}},
		{"key and user", func(c *Config) { c.Username, c.APIKeyEnv = "u", "K" }, []string{"Conflicting credentials"}},
		{"cert without key", func(c *Config) { c.ClientCertFile = "c.pem" }, []string{"Incomplete client certificate"}},
		{"bad prefix", func(c *Config) { c.IndexPrefix = "Audit*" }, []string{"Invalid index_prefix"}},
		{"bad alias", func(c *Config) { c.Alias = "_x" }, []string{"Invalid alias"}},
		{"zero sizes", func(c *Config) { c.FlushEvents, c.FlushBytes, c.Concurrency = 0, -1, 0 }, []string{"Invalid flush_events", "Invalid flush_bytes", "Invalid concurrency"}},
		{"bad timeout", func(c *Config) { c.RequestTimeout = "soon" }, []string{"Invalid request_timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.Addresses = []string{"https://127.0.0.1:9200"}
			tt.mutate(&c)
			var got []string
			for _, d := range c.Validate() {
				got = append(got, d.Summary)
				if strings.Contains(d.Detail, "secret") {
					t.Errorf("detail shows the password: %s", d.Detail)
				}
			}
			if diff := gocmp.Diff(tt.want, got); diff != "" {
				t.Errorf("summaries (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppendString_MatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", `q"b\s`, "\n\r\t\x00\x1f", "ünï ☃ \u2028", "bad \xff utf8", "<&>"} {
		var got string
		if err := json.Unmarshal(jsonstr.Append(nil, s), &got); err != nil {
			t.Fatalf("%q: invalid JSON %s: %v", s, jsonstr.Append(nil, s), err)
		}
		var want string
		b, _ := json.Marshal(s)
		_ = json.Unmarshal(b, &want)
		if got != want {
			t.Errorf("%q: decoded %q, want %q", s, got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	body := `{"errors":true,"items":[
		{"create":{"_id":"1","status":201}},
		{"create":{"_id":"2","status":409,"error":{"type":"version_conflict_engine_exception","reason":"exists"}}},
		{"create":{"_id":"3","status":429,"error":{"type":"es_rejected_execution_exception","reason":"busy"}}},
		{"create":{"_id":"4","status":503,"error":{"type":"unavailable_shards_exception","reason":"no primary"}}},
		{"create":{"_id":"5","status":400,"error":{"type":"mapper_parsing_exception","reason":"bad","caused_by":{"type":"illegal_argument_exception","reason":"x"}}}}]}`
	failed, conflicts, err := classify([]byte(body), []int{10, 11, 12, 13, 14})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(conflicts, []int{11}) {
		t.Errorf("conflicts %v, want [11] (the 409 item)", conflicts)
	}
	var got []string
	for _, f := range failed {
		got = append(got, strings.Join([]string{strconv.Itoa(f.Index), boolStr(f.Retryable), f.Reason}, " "))
	}
	want := []string{
		"12 retry HTTP 429: es_rejected_execution_exception: busy",
		"13 retry HTTP 503: unavailable_shards_exception: no primary",
		"14 reject HTTP 400: mapper_parsing_exception: bad (caused by illegal_argument_exception: x)",
	}
	if diff := gocmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, bad := range []string{`{"errors":false,"items":[]}`, `{"errors":false,"error":"field [x] was set type to [numeric]","items":[{"index":{"status":200}}]}`, `nope`} {
		if _, _, err := classify([]byte(bad), []int{0}); err == nil {
			t.Errorf("classify(%s) = nil error, want an unusable answer", bad)
		}
	}
}

func boolStr(b bool) string {
	if b {
		return "retry"
	}
	return "reject"
}
