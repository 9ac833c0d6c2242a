package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/parsers"
)

// FuzzMap sends random JSON records through a plain-path and a general
// mapping: Map never panics, and an accepted Event survives a JSON round
// trip of event.Event unchanged (Time at microseconds, as rendered).
func FuzzMap(f *testing.F) {
	seeds := []string{
		`{"msg":"audit","id":5,"ts":"2024-07-12T13:33:01.123456789+02:00","name":"user","type":"Create","uid":7,"details":{"a":[1,"b",null,true,{"c":1.5e3}]}}`,
		`{"msg":"audit","ts":1700000000123,"name":"api_key","type":"DELETE","uid":"2882429806056571124","details":{"n":9007199254740993}}`,
		`{"msg":"audit","ts":"2024-07-12 13:33:01","name":"x","type":"y","uid":1e3}`,
		`{"msg":"audit","ts":"1700000000.123456","name":"\u00e9","type":"<b>","uid":-1,"details":null}`,
		`{"msg":"audit","ts":"1e99999","name":"x","type":"y","uid":1}`,
		`{"msg":"other"}`,
		`{"msg":"audit","id":"0","ts":-62135596801,"name":"x","type":"y","uid":1}`,
		`[]`,
		`{}`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	plain := compile(f, `
  when          = record.msg == "audit"
  event_id      = record.id
  event_time    = record.ts
  event_name    = record.name
  event_type    = record.type
  event_details = record.details
  user_uid      = record.uid
  timezone      = "America/New_York"
`)
	general := compile(f, `
  when          = try(record.msg == "audit", false)
  event_id      = try(record.id)
  event_time    = try(record.ts)
  event_name    = try(record.name)
  event_type    = lower(record.type)
  event_details = try(merge(record.details, {}), record.details)
  user_uid      = try(record.uid)
  timezone      = "America/New_York"
`)
	src := event.Position{Input: "fuzz", Path: "/tmp/fuzz.log", Origin: 1, Offset: 2, End: 3}
	f.Fuzz(func(t *testing.T, line []byte) {
		for _, m := range []*Mapping{plain, general} {
			var rec parsers.Record
			if !decodeJSON(line, &rec) || rec == nil {
				return
			}
			ev, err := m.Map(rec, line, src)
			if err != nil {
				if err.Error() == "" {
					t.Fatal("error without text")
				}
				continue
			}
			if ev.ID <= 0 || ev.Name == "" || ev.Type == "" || ev.Details == nil || ev.Time.Location() != time.UTC {
				t.Fatalf("accepted invalid event %+v", ev)
			}
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatalf("marshal %+v: %v", ev, err)
			}
			var back event.Event
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("unmarshal %s: %v", b, err)
			}
			want := ev
			want.Source = event.Position{}
			want.Time = ev.Time.Truncate(time.Microsecond)
			if diff := cmp.Diff(want, back); diff != "" {
				t.Fatalf("round trip of %s (-want +got):\n%s", b, diff)
			}
		}
	})
}

// decodeJSON decodes one JSON value as the jsonl decoder does (numbers as
// json.Number); it reports whether b held exactly one value.
func decodeJSON(b []byte, v any) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return false
	}
	var extra json.RawMessage
	return errors.Is(dec.Decode(&extra), io.EOF)
}
