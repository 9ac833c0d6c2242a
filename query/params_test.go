package query

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/auditship/auditship/outputs"
)

func TestParseParams(t *testing.T) {
	t.Parallel()
	cc := cursorCodec{secret: []byte("k")}
	c := outputs.Cursor{Time: time.Date(2021, 8, 17, 20, 51, 47, 268843001, time.UTC), ID: 9}
	ascAll := request{q: outputs.Query{Order: outputs.Asc}}
	ascCursor := cc.encode(cursorToken{pos: c, order: outputs.Asc, digest: paramsDigest(ascAll)})
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
		{"cursor sets order", "cursor=" + ascCursor, outputs.Query{Limit: 100, Order: outputs.Asc, After: &c}},
		{"date", "start_time=2021-08-17", outputs.Query{Limit: 100, Start: time.Date(2021, 8, 17, 0, 0, 0, 0, time.UTC)}},
		{"comma fraction", "start_time=2026-11-28T09:15:00,5", outputs.Query{Limit: 100, Start: time.Date(2026, 11, 28, 9, 15, 0, 500000000, time.UTC)}},
		{"comma fraction with offset", "start_time=2026-11-28T09:15:00,25%2B01:00", outputs.Query{Limit: 100, Start: time.Date(2026, 11, 28, 8, 15, 0, 250000000, time.UTC)}},
		{"zero start is no bound", "start_time=0001-01-01", outputs.Query{Limit: 100}},
		{"zero start with zone", "start_time=0001-01-01T00:00:00Z", outputs.Query{Limit: 100}},
		{"zero start python min", "start_time=0001-01-01T00:00:00.000000", outputs.Query{Limit: 100}},
		{"limit with leading zeros", "limit=007", outputs.Query{Limit: 7}},
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
			if got.endZero {
				t.Error("endZero set without end_time")
			}
			if diff := cmp.Diff(tt.want, got.q); diff != "" {
				t.Errorf("query (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParseParams checks that the parser never panics and that an accepted
// query, encoded again (as the Link header does), parses to the same search.
func FuzzParseParams(f *testing.F) {
	cc := cursorCodec{secret: []byte("fuzz")}
	pos := outputs.Cursor{Time: time.Date(2021, 8, 17, 20, 51, 47, 1, time.UTC), ID: 42}
	valid := cc.encode(cursorToken{pos: pos, order: outputs.Desc, digest: paramsDigest(request{})})
	pinned := cc.encode(cursorToken{pos: pos, order: outputs.Asc, pin: pos.Time.Add(time.Hour), digest: paramsDigest(request{q: outputs.Query{Order: outputs.Asc}})})
	v1 := v1Cursor(cc, pos, outputs.Desc)
	for _, s := range []string{
		"", "limit=100", "limit=0", "limit=+7", "limit=007", "order=asc&limit=10000",
		"start_time=2021-08-17T20:51:47.268843&end_time=2021-08-17T22:51:47.268843%2B02:00",
		"start_time=2021-08-17", "end_time=0000-01-01T00:00:00Z", "event_name=user&event_name=api_key",
		"event_type=create", "user_uid=1&user_uid=-9223372036854775808", "cursor=" + valid,
		"cursor=" + valid + "&order=asc", "foo=bar", "limit=1&limit=2", "%zz", "event_name=%00",
		"cursor=" + pinned, "cursor=" + v1 + "&user_uid=7", "end_time=0001-01-01", "start_time=0001-01-01T00:00:00,000Z",
		"start_time=2026-11-28T09:15:00,5", "order=", "limit=%2B5", "user_uid=%2B5",
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
		if q.q.Limit < 1 || q.q.Limit > MaxLimit {
			t.Fatalf("accepted limit %d", q.q.Limit)
		}
		for _, k := range []string{"start_time", "end_time"} {
			if s := v.Get(k); s != "" && !timeParamRE.MatchString(s) {
				t.Fatalf("accepted %s %q outside the openapi pattern", k, s)
			}
		}
		enc := encodeParams(q, cc)
		again, err := parseParams(enc, cc)
		if err != nil {
			t.Fatalf("re-encoded %q rejected: %v", enc.Encode(), err)
		}
		// A version 1 cursor comes back as version 2, with a digest.
		opts := cmp.Options{cmp.AllowUnexported(request{}, cursorToken{}), cmpopts.IgnoreFields(cursorToken{}, "digest")}
		if diff := cmp.Diff(q, again, opts); diff != "" {
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

// v1Cursor builds a version 1 cursor, as servers before version 2 issued
// them: no pin, no digest.
func v1Cursor(cc cursorCodec, c outputs.Cursor, o outputs.Order) string {
	b := make([]byte, cursorV1PayloadLen)
	b[0] = cursorV1
	b[1] = byte(o)
	binary.BigEndian.PutUint64(b[2:10], uint64(c.Time.UnixNano()))
	binary.BigEndian.PutUint64(b[10:18], uint64(c.ID))
	return base64.RawURLEncoding.EncodeToString(cc.sign(b))
}

// TestParseParams_EndZero: end_time at the zero time is a bound, not "no
// bound", and survives re-encoding.
func TestParseParams_EndZero(t *testing.T) {
	t.Parallel()
	cc := cursorCodec{secret: []byte("k")}
	for _, s := range []string{"0001-01-01", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000"} {
		r, err := parseParams(url.Values{"end_time": {s}}, cc)
		if err != nil || !r.endZero || !r.q.End.IsZero() {
			t.Fatalf("end_time=%s: %+v, %v; want endZero", s, r, err)
		}
		again, err := parseParams(encodeParams(r, cc), cc)
		if err != nil || !again.endZero {
			t.Errorf("end_time=%s re-encoded as %q: %+v, %v", s, encodeParams(r, cc).Encode(), again, err)
		}
	}
}

// TestTimeParamPattern: the server checks times against the TimeParam
// pattern of openapi.json itself.
func TestTimeParamPattern(t *testing.T) {
	t.Parallel()
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Pattern string `json:"pattern"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Components.Schemas["TimeParam"].Pattern; got != timeParamPattern {
		t.Errorf("openapi.json TimeParam pattern %q, server checks %q", got, timeParamPattern)
	}
}
