package mapping

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/parsers"
	"github.com/auditship/auditship/parsers/json"
)

// projectionMappings read the record in the ways RecordKeys must account
// for: plain paths, a predicate, a dotted index, templates and a general
// expression over a sub-object.
var projectionMappings = []string{
	`
    when          = record.msg == "audit"
    event_time    = record.ts
    event_name    = record.audit.resource
    event_type    = record.audit.action
    event_details = record.audit.details
    user_uid      = record.audit.user_uid
`,
	`
    event_time    = record.ts
    event_name    = "n-${record["a.b"]}"
    event_type    = lower(record.audit.action)
    event_details = { x = record.x, d = record.audit }
    user_uid      = 7
`,
}

// FuzzProjectedMap checks that an event mapped from the projected, in-place
// decode of a line (what the agent does) equals the one mapped from the
// full decode, error for error, and that releasing the record afterwards
// leaves the event's details intact.
func FuzzProjectedMap(f *testing.F) {
	for _, l := range []string{
		`{"ts":"2026-11-30T08:00:00Z","msg":"audit","audit":{"resource":"user","action":"Create","user_uid":3,"details":{"a":[1,{"b":"c"}]}},"x":"y","a.b":"q"}`,
		`{"ts":"2026-11-30T08:00:00Z","msg":"audit","audit.resource":"user","audit":{"action":"x","user_uid":"9","details":{}},"other":{"k":[1,2]}}`,
		`{"ts":"2026-11-30T08:00:00Z","msg":"nope","audit":"flat","audit.resource":"r"}`,
		`{"ts":"bad","msg":"audit","audit":{"resource":"","action":"a","user_uid":1}}`,
	} {
		f.Add([]byte(l), uint8(0))
		f.Add([]byte(l), uint8(1))
	}
	var maps []*Mapping
	for _, body := range projectionMappings {
		maps = append(maps, compile(f, body))
	}
	full, err := json.New(json.DefaultConfig())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line []byte, which uint8) {
		m := maps[int(which)%len(maps)]
		keys, all := m.RecordKeys()
		if all {
			t.Fatal("test mappings must not read the whole record")
		}
		proj := full.Project(keys)
		src := event.Position{Input: "in", Path: "p.log", Offset: 10, End: 20}

		wantRec, wantErr := full.Decode(line)
		owned := bytes.Clone(line)
		gotRec, gotErr := proj.(parsers.OwnedDecoder).DecodeOwned(owned)
		if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
			t.Fatalf("decode: projected error %v, full error %v", gotErr, wantErr)
		}
		if wantErr != nil {
			return
		}
		want, wantErr := m.Map(wantRec, line, src)
		got, gotErr := m.Map(gotRec, owned, src)
		if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
			t.Fatalf("map: projected error %v, full error %v", gotErr, wantErr)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("projected event differs (-full +projected):\n%s", diff)
		}
		proj.(parsers.Releaser).Release(gotRec, got.Details)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("event changed by releasing its record (-before +after):\n%s", diff)
		}
	})
}
