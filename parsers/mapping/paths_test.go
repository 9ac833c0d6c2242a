package mapping

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/parsers"
	"github.com/auditship/auditship/parsers/json"
)

// walkPaths gives the values MapValues reads: those at paths of rec.
func walkPaths(rec parsers.Record, paths [][]string) []any {
	vals := make([]any, len(paths))
	for i, p := range paths {
		steps := make([]step, len(p))
		for j, k := range p {
			steps[j] = step{name: k}
		}
		vals[i] = walk(rec, steps)
	}
	return vals
}

// mapChecked is m.Map(rec), checked against MapValues on the values at
// m's paths when the mapping has them: the same event or the same error.
func mapChecked(t *testing.T, m *Mapping, rec parsers.Record, raw []byte, src event.Position) (event.Event, error) {
	t.Helper()
	want, wantErr := m.Map(rec, raw, src)
	paths, ok := m.Paths()
	if !ok {
		return want, wantErr
	}
	got, err := m.MapValues(walkPaths(rec, paths), raw, src)
	if (wantErr == nil) != (err == nil) || (wantErr != nil && wantErr.Error() != err.Error()) {
		t.Fatalf("MapValues error %v, Map error %v", err, wantErr)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("MapValues event differs (-Map +MapValues):\n%s", diff)
	}
	return want, wantErr
}

func TestPaths(t *testing.T) {
	t.Parallel()
	std := `
    event_time    = record.ts
    event_name    = record.audit.resource
    event_type    = record.audit.action
    event_details = record.audit.details
    user_uid      = record.audit.user_uid
`
	for _, c := range []struct {
		name, extra string
		want        [][]string // nil: not ok
	}{
		{"plain paths and a predicate", `when = record.msg == "audit" && !(record.audit.resource == null)`,
			[][]string{{"msg"}, {"audit", "resource"}, {"ts"}, {"audit", "action"}, {"audit", "details"}, {"audit", "user_uid"}}},
		{"quoted keys", `event_id = record["audit"]["event.id"]`,
			[][]string{{"audit", "event.id"}, {"ts"}, {"audit", "resource"}, {"audit", "action"}, {"audit", "details"}, {"audit", "user_uid"}}},
		{"input and path are not record paths", `when = input == "platform" || path != "x"`,
			[][]string{{"ts"}, {"audit", "resource"}, {"audit", "action"}, {"audit", "details"}, {"audit", "user_uid"}}},
		{"a general expression", `event_id = tonumber(record.audit.id)`, nil},
		{"an index step", `event_id = record.audit.ids[0]`, nil},
		{"a numeric key", `event_id = record.audit["0"]`, nil},
		{"the whole record", `when = record == null`, nil},
	} {
		got, ok := compile(t, std+c.extra).Paths()
		if ok != (c.want != nil) {
			t.Errorf("%s: Paths ok %v, want %v", c.name, ok, c.want != nil)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s: Paths (-want +got):\n%s", c.name, diff)
		}
	}
}

// pathsMappings read the record only through plain paths and predicates.
var pathsMappings = []string{
	projectionMappings[0],
	`
    when          = (record.msg == "audit" && record.audit.ok != false) || !(record.kind == null)
    event_id      = record.audit.event_id
    event_time    = record.ts
    event_name    = record.audit.resource
    event_type    = record.kind
    event_details = record.audit.details
    user_uid      = record.audit.user_uid
`,
}

// FuzzPathsMap checks that the event mapped from a paths decode of a line
// (what the agent does) equals the one mapped from the whole record, error
// for error, and that a line the paths decode hands back is one the whole
// decode serves.
func FuzzPathsMap(f *testing.F) {
	for _, l := range []string{
		`{"ts":"2026-11-30T08:00:00Z","msg":"audit","audit":{"resource":"user","action":"Create","user_uid":3,"details":{"a":[1,{"b":"c"}]}},"x":"y"}`,
		`{"ts":"2026-11-30T08:00:00Z","msg":"audit","audit.resource":"user","audit":{"action":"x","user_uid":"9","details":{}}}`,
		`{"ts":"2026-11-30T08:00:00Z","msg":"audit","audit":{"resource":"r","ok":false},"kind":"k","audit":{"resource":"s","user_uid":1}}`,
		`{"ts":1764489600,"kind":"update","audit":{"event_id":12,"resource":"lf","user_uid":2,"details":null}}`,
		`{"ts":"bad","msg":"audit","audit":{"resource":"","action":"a","user_uid":1}}`,
	} {
		f.Add([]byte(l), uint8(0))
		f.Add([]byte(l), uint8(1))
	}
	var maps []*Mapping
	for _, body := range pathsMappings {
		maps = append(maps, compile(f, body))
	}
	dec, err := json.New(json.DefaultConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line []byte, which uint8) {
		m := maps[int(which)%len(maps)]
		paths, ok := m.Paths()
		if !ok {
			t.Fatal("test mappings must read plain paths only")
		}
		byPaths, ok := dec.DecodePaths(paths)
		if !ok {
			t.Fatalf("DecodePaths(%q) refused", paths)
		}
		src := event.Position{Input: "in", Path: "p.log", Offset: 10, End: 20}
		rec, wantErr := dec.Decode(line)
		owned := bytes.Clone(line)
		vals := make([]any, len(paths))
		ok, err := byPaths(owned, vals)
		if !ok && err == nil {
			return // a line that needs its whole record
		}
		if (wantErr == nil) != (err == nil) || (wantErr != nil && wantErr.Error() != err.Error()) {
			t.Fatalf("decode: paths error %v, whole error %v", err, wantErr)
		}
		if err != nil {
			return
		}
		want, wantErr := m.Map(rec, line, src)
		got, err := m.MapValues(vals, owned, src)
		if (wantErr == nil) != (err == nil) || (wantErr != nil && wantErr.Error() != err.Error()) {
			t.Fatalf("map: paths error %v, whole error %v", err, wantErr)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("paths event differs (-whole +paths):\n%s", diff)
		}
	})
}
