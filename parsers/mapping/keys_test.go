package mapping

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRecordKeys(t *testing.T) {
	t.Parallel()
	const required = `
    event_time = record.ts
    event_name = record.audit.resource
    event_type = "update"
    user_uid   = record["user.id"]
`
	cases := []struct {
		name  string
		extra string
		keys  []string
		all   bool
	}{
		{"plain paths, index with a dotted key", "", []string{"audit", "ts", "user"}, false},
		{"predicate", `when = record.msg == "audit" && !(record.level == "debug")`, []string{"audit", "level", "msg", "ts", "user"}, false},
		{"general expression and template", `event_details = { who = "${record.actor.name}-${input}", n = length(record.items) }`, []string{"actor", "audit", "items", "ts", "user"}, false},
		{"conditional and for", `event_details = record.kind == "a" ? { for k, v in record.extra : k => v } : {}`, []string{"audit", "extra", "kind", "ts", "user"}, false},
		{"whole record", `event_details = record`, nil, true},
		{"computed key", `event_details = record[record.which]`, nil, true},
		{"numeric index at the top", `event_details = record[0]`, nil, true},
		{"input and path only add nothing", `event_details = { i = input, p = path }`, []string{"audit", "ts", "user"}, false},
	}
	for _, c := range cases {
		m := compile(t, required+c.extra)
		keys, all := m.RecordKeys()
		if all != c.all {
			t.Errorf("%s: all = %v, want %v", c.name, all, c.all)
		}
		if !c.all {
			if diff := cmp.Diff(c.keys, keys); diff != "" {
				t.Errorf("%s: keys (-want +got):\n%s", c.name, diff)
			}
		}
	}
}
