package query

import (
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/outputs"
)

func TestParseParams(t *testing.T) {
	t.Parallel()
	cc := cursorCodec{secret: []byte("k")}
	c := outputs.Cursor{Time: time.Date(2021, 8, 17, 20, 51, 47, 268843001, time.UTC), ID: 9}
	tests := []struct {
		name  string
		query string
		want  outputs.Query
	}{
		{"empty", "", outputs.Query{Limit: 100}},
		{"all", "limit=5&start_time=2021-08-17T20:51:47.268843&end_time=2021-08-18T00:00:00%2B02:00&event_name=a&event_name=b&event_type=t&user_uid=-3&order=asc",
			outputs.Query{
				Limit: 5, Order: outputs.Asc,
				Start: time.Date(2021, 8, 17, 20, 51, 47, 268843000, time.UTC),
				End:   time.Date(2021, 8, 17, 22, 0, 0, 0, time.UTC),
				Names: []string{"a", "b"}, Types: []string{"t"}, UserUIDs: []int64{-3},
			}},
		{"cursor sets order", "cursor=" + cc.encode(c, outputs.Asc), outputs.Query{Limit: 100, Order: outputs.Asc, After: &c}},
		{"date", "start_time=2021-08-17", outputs.Query{Limit: 100, Start: time.Date(2021, 8, 17, 0, 0, 0, 0, time.UTC)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseParams(v, cc)
			if err != nil {
				t.Fatalf("parseParams: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParseParams checks that the parser never panics and that an accepted
// query, encoded again (as the Link header does), parses to the same search.
func FuzzParseParams(f *testing.F) {
	cc := cursorCodec{secret: []byte("fuzz")}
	valid := cc.encode(outputs.Cursor{Time: time.Date(2021, 8, 17, 20, 51, 47, 1, time.UTC), ID: 42}, outputs.Desc)
	for _, s := range []string{
		"", "limit=100", "limit=0", "limit=+7", "limit=007", "order=asc&limit=10000",
		"start_time=2021-08-17T20:51:47.268843&end_time=2021-08-17T22:51:47.268843%2B02:00",
		"start_time=2021-08-17", "end_time=0000-01-01T00:00:00Z", "event_name=user&event_name=api_key",
		"event_type=create", "user_uid=1&user_uid=-9223372036854775808", "cursor=" + valid,
		"cursor=" + valid + "&order=asc", "foo=bar", "limit=1&limit=2", "%zz", "event_name=%00",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := parseParams(v, cc)
		if err != nil {
			if _, ok := err.(*paramError); !ok {
				t.Fatalf("error %T %v, want *paramError", err, err)
			}
			return
		}
		if q.Limit < 1 || q.Limit > MaxLimit {
			t.Fatalf("accepted limit %d", q.Limit)
		}
		enc := encodeParams(q, cc)
		again, err := parseParams(enc, cc)
		if err != nil {
			t.Fatalf("re-encoded %q rejected: %v", enc.Encode(), err)
		}
		if diff := cmp.Diff(q, again); diff != "" {
			t.Fatalf("re-encoded %q parses differently (-first +again):\n%s", enc.Encode(), diff)
		}
		// The Link header goes through a URL: the encoded string must too.
		v2, err := url.ParseQuery(enc.Encode())
		if err != nil {
			t.Fatalf("encoded %q does not parse as a query: %v", enc.Encode(), err)
		}
		if _, err := parseParams(v2, cc); err != nil {
			t.Fatalf("encoded %q rejected: %v", enc.Encode(), err)
		}
	})
}
