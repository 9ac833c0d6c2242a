package query

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"go.uber.org/goleak"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
	"github.com/auditship/auditship/outputs/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	rootKey   = "root-key-from-env"
	opsKey    = "ops-script-key"
	viewerKey = "viewer-key"
)

// testHCL configures one superadmin and one viewer key by hash.
var testHCL = fmt.Sprintf(`
listen = "127.0.0.1:0"
api_key "ops-script" {
  sha256 = %q
  role   = "superadmin"
}
api_key "dashboard" {
  sha256 = %q
  role   = "viewer"
}
`, HashKey(opsKey), HashKey(viewerKey))

// decodeConfig decodes src over DefaultConfig as the agent does.
func decodeConfig(t *testing.T, src string) (Config, hcl.Diagnostics) {
	t.Helper()
	f, diags := hclsyntax.ParseConfig([]byte(src), "agent.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatalf("parse: %v", diags)
	}
	c := DefaultConfig()
	if diags := gohcl.DecodeBody(f.Body, nil, &c); diags.HasErrors() {
		t.Fatalf("decode: %v", diags)
	}
	return c, c.Validate()
}

// testEnv is a real sqlite store behind a real HTTP server.
type testEnv struct {
	store *sqlite.Store
	srv   *Server
	url   string

	mu         sync.Mutex
	reads      []event.Event
	readErr    error // what OnRead answers: nil, or the read cannot be audited
	storeReads bool  // OnRead also writes the read event to the store, as the agent does
}

func newEnv(t *testing.T, src string, o Options) *testEnv {
	t.Helper()
	st, err := sqlite.New(sqlite.DefaultConfig(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	c, diags := decodeConfig(t, src)
	if diags.HasErrors() {
		t.Fatalf("config: %v", diags)
	}
	env := &testEnv{store: st}
	o.OnRead = func(ctx context.Context, e event.Event) error {
		env.mu.Lock()
		defer env.mu.Unlock()
		if env.readErr != nil {
			return env.readErr
		}
		env.reads = append(env.reads, e)
		if env.storeReads {
			return env.store.Write(ctx, []event.Event{e})
		}
		return nil
	}
	env.srv, err = New(c, st, o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(env.srv.Handler())
	t.Cleanup(hs.Close)
	env.url = hs.URL
	return env
}

// getWith sends GET path with the given Authorization headers and returns
// status and body.
func (env *testEnv) getWith(t *testing.T, path string, auth ...string) (int, []byte) {
	t.Helper()
	status, _, b := env.request(t, path, auth)
	return status, b
}

// get sends GET path with key (none when "") and returns status, headers and body.
func (env *testEnv) get(t *testing.T, path, key string) (int, http.Header, []byte) {
	t.Helper()
	var auth []string
	if key != "" {
		auth = []string{"Bearer " + key}
	}
	return env.request(t, path, auth)
}

// request sends GET path with one Authorization header per auth.
func (env *testEnv) request(t *testing.T, path string, auth []string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, env.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range auth {
		req.Header.Add("Authorization", a)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// events decodes a 200 body.
func decodeEvents(t *testing.T, b []byte) []event.Event {
	t.Helper()
	var evs []event.Event
	if err := json.Unmarshal(b, &evs); err != nil {
		t.Fatalf("decode body %q: %v", b, err)
	}
	return evs
}

func ids(evs []event.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}

var base = time.Date(2021, 8, 17, 20, 51, 47, 268843000, time.UTC)

// makeEvents returns n events with ids from first; every third shares the
// time of the one before.
func makeEvents(first, n int) []event.Event {
	names := []string{"user", "dataset", "api_key"}
	types := []string{"create", "delete", "login", "update"}
	evs := make([]event.Event, n)
	for i := range evs {
		step := i - i/3
		evs[i] = event.Event{
			ID:      int64(first + i),
			Time:    base.Add(time.Duration(step) * time.Millisecond),
			Name:    names[i%len(names)],
			Type:    types[i%len(types)],
			Details: map[string]any{"n": json.Number(strconv.Itoa(i))},
			UserUID: int64(i % 5),
		}
	}
	return evs
}

func TestServer_Auth(t *testing.T) {
	t.Parallel()
	env := newEnv(t, testHCL, Options{SuperadminKey: rootKey})
	tests := []struct {
		name   string
		header string
		status int
		code   string
	}{
		{"no key", "", 401, "unauthorized"},
		{"basic auth", "Basic cm9vdDpyb290", 401, "unauthorized"},
		{"empty bearer", "Bearer ", 401, "unauthorized"},
		{"wrong key", "Bearer nope", 401, "unauthorized"},
		{"hash as key", "Bearer " + HashKey(opsKey), 401, "unauthorized"},
		{"viewer from config", "Bearer " + viewerKey, 403, "forbidden"},
		{"superadmin from config", "Bearer " + opsKey, 200, ""},
		{"superadmin from options", "Bearer " + rootKey, 200, ""},
		{"scheme case", "bearer " + rootKey, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, env.url+"/audit-logs", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = resp.Body.Close() }()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, tt.status, b)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			if tt.status == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Bearer realm="auditship"`) {
				t.Errorf("WWW-Authenticate %q, want Bearer realm", resp.Header.Get("WWW-Authenticate"))
			}
			if tt.status == 200 {
				if string(b) != "[]\n" {
					t.Errorf("body %q, want []", b)
				}
				return
			}
			var e apiError
			if err := json.Unmarshal(b, &e); err != nil || e.Error != tt.code || e.Message == "" {
				t.Errorf("body %s, want error %q with a message", b, tt.code)
			}
		})
	}
}

func TestServer_BadRequests(t *testing.T) {
	t.Parallel()
	env := newEnv(t, testHCL+"rate_limit = 1000\nrate_burst = 1000\n", Options{SuperadminKey: rootKey})
	if err := env.store.Write(t.Context(), makeEvents(1, 5)); err != nil {
		t.Fatal(err)
	}
	_, h, _ := env.get(t, "/audit-logs?limit=2", rootKey)
	good := h.Get("X-Next-Cursor")
	if good == "" {
		t.Fatal("no X-Next-Cursor on a full page")
	}
	other, err := New(DefaultConfig(), env.store, Options{SuperadminKey: "another-server-key-0123"})
	if err != nil {
		t.Fatal(err)
	}
	foreign := other.cursors.encode(cursorToken{pos: outputs.Cursor{Time: base, ID: 3}, order: outputs.Desc, digest: paramsDigest(request{})})
	tampered := []byte(good)
	tampered[5] ^= 1
	tests := []struct {
		name, query, mention string
	}{
		{"limit zero", "limit=0", "limit"},
		{"limit too big", "limit=10001", "limit"},
		{"limit not a number", "limit=abc", "limit"},
		{"limit negative", "limit=-1", "limit"},
		{"limit twice", "limit=1&limit=2", "limit"},
		{"unknown parameter", "limit=1&colour=red&Size=2", `"Size", "colour"`},
		{"bad start_time", "start_time=yesterday", "start_time"},
		{"bad end_time", "end_time=2021-13-01T00:00:00", "end_time"},
		{"start after end", "start_time=2021-08-18&end_time=2021-08-17", "start_time"},
		{"bad order", "order=sideways", "order"},
		{"bad user_uid", "user_uid=1&user_uid=x", "user_uid"},
		{"empty event_name", "event_name=", "event_name"},
		{"empty order", "order=", "order"},
		{"empty limit", "limit=", "limit"},
		{"limit with plus", "limit=%2B5", "limit"},
		{"limit with space", "limit=+5", "limit"},
		{"user_uid with plus", "user_uid=%2B5", "user_uid"},
		{"fraction of 10 digits", "start_time=2021-08-17T20:51:47.1234567890", "start_time"},
		{"offset without colon", "end_time=2021-08-17T20:51:47%2B0200", "end_time"},
		{"cursor for other filters", "user_uid=8&cursor=" + good, "other parameters"},
		{"cursor for other start", "start_time=2021-08-17&cursor=" + good, "other parameters"},
		{"tampered cursor", "cursor=" + string(tampered), "cursor"},
		{"truncated cursor", "cursor=" + good[:20], "cursor"},
		{"garbage cursor", "cursor=%25%00", "cursor"},
		{"foreign cursor", "cursor=" + foreign, "cursor"},
		{"cursor for other order", "order=asc&cursor=" + good, "cursor"},
		{"malformed query", "limit=1&%zz", "query string"},
		{"semicolon", "limit=1;limit=2", "query string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, h, b := env.get(t, "/audit-logs?"+tt.query, rootKey)
			if status != 400 {
				t.Fatalf("status %d, want 400; body %s", status, b)
			}
			if ct := h.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q, want application/json", ct)
			}
			var e apiError
			if err := json.Unmarshal(b, &e); err != nil || e.Error != "bad_request" {
				t.Fatalf("body %s, want error bad_request", b)
			}
			if !strings.Contains(e.Message, tt.mention) {
				t.Errorf("message %q does not mention %q", e.Message, tt.mention)
			}
		})
	}
	t.Run("good cursor", func(t *testing.T) {
		status, _, b := env.get(t, "/audit-logs?limit=2&cursor="+good, rootKey)
		if status != 200 {
			t.Fatalf("status %d; body %s", status, b)
		}
	})
}

func TestServer_Filters(t *testing.T) {
	t.Parallel()
	env := newEnv(t, testHCL+"rate_limit = 1000\nrate_burst = 1000\n", Options{SuperadminKey: rootKey})
	evs := makeEvents(1, 60)
	if err := env.store.Write(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	keep := func(desc bool, f func(e event.Event) bool) []int64 {
		var out []int64
		for _, e := range evs {
			if f(e) {
				out = append(out, e.ID)
			}
		}
		if desc {
			slices.Reverse(out) // makeEvents' ids follow time order
		}
		return out
	}
	t10 := event.FormatTime(evs[10].Time) // no zone: UTC
	t20 := evs[20].Time
	tests := []struct {
		name  string
		query string
		want  []int64
	}{
		{"default desc", "", keep(true, func(event.Event) bool { return true })},
		{"asc", "order=asc", keep(false, func(event.Event) bool { return true })},
		{"names or", "event_name=user&event_name=api_key&order=asc", keep(false, func(e event.Event) bool { return e.Name != "dataset" })},
		{"type", "event_type=login", keep(true, func(e event.Event) bool { return e.Type == "login" })},
		{"user_uid or", "user_uid=1&user_uid=4", keep(true, func(e event.Event) bool { return e.UserUID == 1 || e.UserUID == 4 })},
		{"start naive utc", "start_time=" + t10, keep(true, func(e event.Event) bool { return !e.Time.Before(evs[10].Time) })},
		{"end with offset", "end_time=" + url.QueryEscape(t20.In(time.FixedZone("", 2*3600)).Format(time.RFC3339Nano)),
			keep(true, func(e event.Event) bool { return e.Time.Before(t20) })},
		{"date only", "end_time=2021-08-17", nil},
		{"start with comma", "start_time=" + strings.Replace(t10, ".", ",", 1), keep(true, func(e event.Event) bool { return !e.Time.Before(evs[10].Time) })},
		{"zero start", "start_time=0001-01-01", keep(true, func(event.Event) bool { return true })},
		{"zero start with zone", "start_time=0001-01-01T00:00:00Z&order=asc", keep(false, func(event.Event) bool { return true })},
		{"zero start python", "start_time=0001-01-01T00:00:00.000000", keep(true, func(event.Event) bool { return true })},
		{"zero end", "end_time=0001-01-01", nil},
		{"zero end python", "end_time=0001-01-01T00:00:00.000000&limit=1", nil},
		{"zero range", "start_time=0001-01-01&end_time=0001-01-01T00:00:00Z", nil},
		{"and across", "event_name=user&event_type=create&event_type=update&user_uid=0&user_uid=3&order=asc",
			keep(false, func(e event.Event) bool {
				return e.Name == "user" && (e.Type == "create" || e.Type == "update") && (e.UserUID == 0 || e.UserUID == 3)
			})},
		{"limit", "limit=7&order=asc", keep(false, func(e event.Event) bool { return e.ID <= 7 })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, _, b := env.get(t, "/audit-logs?"+tt.query, rootKey)
			if status != 200 {
				t.Fatalf("status %d; body %s", status, b)
			}
			got := ids(decodeEvents(t, b))
			if len(tt.want) == 0 && len(got) == 0 {
				return
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("event ids (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("six fields", func(t *testing.T) {
		t.Parallel()
		_, _, b := env.get(t, "/audit-logs?limit=1&order=asc", rootKey)
		var raw []map[string]any
		if err := json.Unmarshal(b, &raw); err != nil || len(raw) != 1 {
			t.Fatalf("body %s: %v", b, err)
		}
		want := map[string]any{
			"event_id": 1.0, "event_time": "2021-08-17T20:51:47.268843", "event_name": "user",
			"event_type": "create", "event_details": map[string]any{"n": 0.0}, "user_uid": 0.0,
		}
		if diff := cmp.Diff(want, raw[0]); diff != "" {
			t.Errorf("event JSON (-want +got):\n%s", diff)
		}
	})
}

func TestServer_PagingWhileInserting(t *testing.T) {
	t.Parallel()
	for _, order := range []string{"desc", "asc"} {
		t.Run(order, func(t *testing.T) {
			t.Parallel()
			env := newEnv(t, testHCL, Options{SuperadminKey: rootKey})
			snapshot := makeEvents(1, 1000)
			if err := env.store.Write(t.Context(), snapshot); err != nil {
				t.Fatal(err)
			}
			next := "/audit-logs?limit=70&order=" + order
			var got []event.Event
			for page := 0; next != ""; page++ {
				if page > 100 {
					t.Fatal("more than 100 pages")
				}
				status, h, b := env.get(t, next, opsKey)
				if status != 200 {
					t.Fatalf("page %d: status %d; body %s", page, status, b)
				}
				evs := decodeEvents(t, b)
				got = append(got, evs...)
				next = ""
				if link := h.Get("Link"); link != "" {
					if len(evs) != 70 {
						t.Fatalf("page %d has %d events and a Link", page, len(evs))
					}
					u, rest, ok := strings.Cut(strings.TrimPrefix(link, "<"), ">")
					if !ok || rest != `; rel="next"` {
						t.Fatalf("Link %q, want <url>; rel=\"next\"", link)
					}
					next = u
					if !strings.Contains(u, "cursor="+h.Get("X-Next-Cursor")) {
						t.Errorf("Link %q does not carry X-Next-Cursor %q", link, h.Get("X-Next-Cursor"))
					}
				}
				// New events land everywhere in time while we page, with
				// ids above the snapshot's.
				extra := makeEvents(100000+page*10, 10)
				for i := range extra {
					extra[i].Time = extra[i].Time.Add(time.Duration(page*97+i*131)*time.Millisecond - 300*time.Millisecond)
				}
				if err := env.store.Write(t.Context(), extra); err != nil {
					t.Fatal(err)
				}
			}
			seen := map[int64]int{}
			for i, e := range got {
				seen[e.ID]++
				if i == 0 {
					continue
				}
				p := got[i-1]
				c := p.Time.Compare(e.Time)
				if c == 0 {
					c = cmpInt(p.ID, e.ID)
				}
				if (order == "asc" && c >= 0) || (order == "desc" && c <= 0) {
					t.Fatalf("events %d and %d out of %s order", p.ID, e.ID, order)
				}
			}
			for _, e := range snapshot {
				if seen[e.ID] != 1 {
					t.Errorf("snapshot event %d returned %d times, want once", e.ID, seen[e.ID])
				}
			}
		})
	}
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestServer_OnRead(t *testing.T) {
	t.Parallel()
	env := newEnv(t, testHCL, Options{SuperadminKey: rootKey})
	if err := env.store.Write(t.Context(), makeEvents(1, 3)); err != nil {
		t.Fatal(err)
	}
	before := time.Now().UTC()
	if status, _, b := env.get(t, "/audit-logs?event_name=user&event_name=dataset&limit=5", opsKey); status != 200 {
		t.Fatalf("status %d; body %s", status, b)
	}
	// Failed reads are not audited as reads.
	env.get(t, "/audit-logs", viewerKey)
	env.get(t, "/audit-logs?limit=0", opsKey)

	env.mu.Lock()
	defer env.mu.Unlock()
	if len(env.reads) != 1 {
		t.Fatalf("OnRead called %d times, want 1", len(env.reads))
	}
	e := env.reads[0]
	if e.ID <= 0 || e.UserUID != 0 || e.Name != "audit_log" || e.Type != "read" || e.Time.Location() != time.UTC || e.Time.Before(before.Add(-time.Second)) {
		t.Errorf("read event %+v: want audit_log/read, positive id, user_uid 0, now in UTC", e)
	}
	want := map[string]any{
		"key_name":     "ops-script",
		"parameters":   map[string]any{"event_name": []any{"user", "dataset"}, "limit": []any{"5"}},
		"result_count": json.Number("2"),
		"remote_addr":  "127.0.0.1",
	}
	if diff := cmp.Diff(want, e.Details); diff != "" {
		t.Errorf("details (-want +got):\n%s", diff)
	}
	// The event must be storable as it is.
	if _, err := json.Marshal(e); err != nil {
		t.Errorf("read event does not encode: %v", err)
	}
}

func TestServer_Unavailable(t *testing.T) {
	t.Parallel()
	env := newEnv(t, testHCL, Options{SuperadminKey: rootKey})
	if err := env.store.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	status, _, b := env.get(t, "/audit-logs", rootKey)
	var e apiError
	if status != 503 || json.Unmarshal(b, &e) != nil || e.Error != "unavailable" {
		t.Errorf("status %d body %s, want 503 unavailable", status, b)
	}
	if strings.Contains(string(b), "audit.db") || strings.Contains(string(b), "/tmp") {
		t.Errorf("body %s leaks a path", b)
	}
}

func TestServer_RateLimit(t *testing.T) {
	t.Parallel()
	env := newEnv(t, testHCL+"rate_limit = 0.01\nrate_burst = 2\n", Options{SuperadminKey: rootKey})
	for i := range 2 {
		if status, _, b := env.get(t, "/audit-logs", opsKey); status != 200 {
			t.Fatalf("request %d: status %d; body %s", i, status, b)
		}
	}
	status, h, b := env.get(t, "/audit-logs", opsKey)
	var e apiError
	if status != 429 || json.Unmarshal(b, &e) != nil || e.Error != "rate_limited" {
		t.Fatalf("status %d body %s, want 429 rate_limited", status, b)
	}
	if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("Retry-After %q, want whole seconds ≥ 1", h.Get("Retry-After"))
	}
	// Limits are per key.
	if status, _, b := env.get(t, "/audit-logs", rootKey); status != 200 {
		t.Errorf("other key: status %d; body %s", status, b)
	}
}

func TestServer_FailedAuthRateLimit(t *testing.T) {
	t.Parallel()
	env := newEnv(t, testHCL+"rate_limit = 0.01\nrate_burst = 3\n", Options{SuperadminKey: rootKey})
	// Missing and unknown keys share the address's budget.
	for i, key := range []string{"", "guess-1", "guess-2"} {
		if status, _, b := env.get(t, "/audit-logs", key); status != 401 {
			t.Fatalf("guess %d: status %d, want 401; body %s", i, status, b)
		}
	}
	for _, key := range []string{"guess-3", ""} {
		status, h, b := env.get(t, "/audit-logs", key)
		var e apiError
		if status != 429 || json.Unmarshal(b, &e) != nil || e.Error != "rate_limited" {
			t.Fatalf("key %q after the burst: status %d body %s, want 429 rate_limited", key, status, b)
		}
		if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra < 1 {
			t.Errorf("Retry-After %q, want whole seconds ≥ 1", h.Get("Retry-After"))
		}
	}
	// Valid keys from the blocked address (all clients behind one reverse
	// proxy) are not refused for its failures; their own limit applies.
	for i := range 3 {
		if status, _, b := env.get(t, "/audit-logs", rootKey); status != 200 {
			t.Fatalf("valid key, request %d, from a blocked address: status %d, want 200; body %s", i, status, b)
		}
	}
	if status, _, b := env.get(t, "/audit-logs", rootKey); status != 429 || !strings.Contains(string(b), "for API key") {
		t.Errorf("valid key over its own limit: status %d body %s, want 429 for the key", status, b)
	}
	if status, _, b := env.get(t, "/audit-logs", viewerKey); status != 403 {
		t.Errorf("viewer key from a blocked address: status %d, want 403; body %s", status, b)
	}
	if status, _, b := env.get(t, "/audit-logs", "guess-4"); status != 429 {
		t.Errorf("bad key after valid ones: status %d, want 429; body %s", status, b)
	}
}

func TestServer_FailedAuthPerAddress(t *testing.T) {
	t.Parallel()
	env := newEnv(t, testHCL+"rate_limit = 0.01\nrate_burst = 1\n", Options{SuperadminKey: rootKey})
	h := env.srv.Handler()
	do := func(remote, key string) int {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/audit-logs", nil)
		req.RemoteAddr = remote
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	if got := do("192.0.2.1:1000", "guess"); got != 401 {
		t.Fatalf("first guess: %d, want 401", got)
	}
	if got := do("192.0.2.1:2000", "guess"); got != 429 {
		t.Errorf("second guess from the same IP, other port: %d, want 429", got)
	}
	if got := do("192.0.2.2:1000", "guess"); got != 401 {
		t.Errorf("guess from another IP: %d, want 401", got)
	}
	// Valid keys spend nothing of the address's budget.
	for i := range 3 {
		if got := do("192.0.2.3:1000", opsKey); got != 200 && got != 429 {
			t.Fatalf("valid request %d: %d", i, got)
		}
	}
	if got := do("192.0.2.3:1000", "guess"); got != 401 {
		t.Errorf("guess after valid requests: %d, want 401", got)
	}
}

func TestNew_ShortSuperadminKey(t *testing.T) {
	t.Parallel()
	env := newEnv(t, testHCL, Options{SuperadminKey: rootKey})
	_, err := New(DefaultConfig(), env.store, Options{SuperadminKey: "hunter2-1234567"})
	const want = "super-admin key too short: use at least 16 characters, e.g. auditship keygen"
	if err == nil || err.Error() != want {
		t.Errorf("New with a 15-character key: %v, want %q", err, want)
	}
	if _, err := New(DefaultConfig(), env.store, Options{SuperadminKey: "hunter2-12345678"}); err != nil {
		t.Errorf("New with a 16-character key: %v", err)
	}
}

func TestServer_OtherPaths(t *testing.T) {
	t.Parallel()
	env := newEnv(t, testHCL, Options{})
	status, h, b := env.get(t, "/healthz", "")
	if status != 200 || string(b) != "{\"status\":\"ok\"}\n" || h.Get("Content-Type") != "application/json" {
		t.Errorf("healthz: %d %q %q", status, h.Get("Content-Type"), b)
	}
	status, _, b = env.get(t, "/nope", "")
	var e apiError
	if status != 404 || json.Unmarshal(b, &e) != nil || e.Error != "not_found" {
		t.Errorf("unknown path: %d %s, want 404 not_found", status, b)
	}
	resp, err := http.Post(env.url+"/audit-logs", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 405 || resp.Header.Get("Allow") != "GET" {
		t.Errorf("POST: %d Allow %q, want 405 GET", resp.StatusCode, resp.Header.Get("Allow"))
	}
	for _, path := range []string{"/audit-logs", "/healthz"} {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodDelete, env.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		var e apiError
		if resp.StatusCode != 405 || json.Unmarshal(b, &e) != nil || e.Error != "method_not_allowed" {
			t.Errorf("DELETE %s: %d %s, want 405 method_not_allowed", path, resp.StatusCode, b)
		}
	}
}

func TestServer_Run(t *testing.T) {
	t.Parallel()
	st, err := sqlite.New(sqlite.DefaultConfig(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close(context.Background()) }()
	c, _ := decodeConfig(t, `listen = "127.0.0.1:0"`)
	srv, err := New(c, st, Options{SuperadminKey: rootKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server not ready after 10s")
	}
	resp, err := http.Get("http://" + srv.Addr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz status %d", resp.StatusCode)
	}

	// A second server on the same port fails at once.
	c2 := c
	c2.Listen = srv.Addr()
	srv2, err := New(c2, st, Options{})
	if err != nil {
		t.Fatal(err)
	}
	err = srv2.Run(t.Context())
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Errorf("Run on a used port = %v, want a listen error", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return 10s after cancel")
	}
}

// TestServer_UnauditedReadRefused: when the audit event of a read cannot be
// stored, the events are not served.
func TestServer_UnauditedReadRefused(t *testing.T) {
	t.Parallel()
	env := newEnv(t, testHCL, Options{SuperadminKey: rootKey})
	if err := env.store.Write(t.Context(), makeEvents(1, 3)); err != nil {
		t.Fatal(err)
	}
	env.mu.Lock()
	env.readErr = errors.New("pipeline stopped")
	env.mu.Unlock()
	status, _, b := env.get(t, "/audit-logs?limit=5", opsKey)
	if status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503; body %s", status, b)
	}
	var e apiError
	if err := json.Unmarshal(b, &e); err != nil || e.Error != "unavailable" {
		t.Errorf("body %s, want error unavailable", b)
	}
	if strings.Contains(string(b), "event_id") {
		t.Errorf("events served although the read was not audited: %s", b)
	}
}

// walkPages follows Link from path with key for at most maxPages pages and
// returns the ids of every page; ended is false when the last page still
// had a Link.
func (env *testEnv) walkPages(t *testing.T, path, key string, maxPages int) (pages [][]int64, ended bool) {
	t.Helper()
	next := path
	for range maxPages {
		status, h, b := env.get(t, next, key)
		if status != 200 {
			t.Fatalf("GET %s: status %d; body %s", next, status, b)
		}
		pages = append(pages, ids(decodeEvents(t, b)))
		link := h.Get("Link")
		if link == "" {
			return pages, true
		}
		next, _, _ = strings.Cut(strings.TrimPrefix(link, "<"), ">")
	}
	return pages, false
}

// TestServer_AscPagingEnds: every read stores an audit_log/read event, which
// matches an ascending pager without end_time; the cursor pins the time of
// the first page, so paging still ends.
func TestServer_AscPagingEnds(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC()
	start := url.QueryEscape(now.Add(-time.Minute).Format(time.RFC3339Nano))
	// setup returns a server whose store holds three audit_log/read events
	// of the last minute and records every read there too.
	setup := func(t *testing.T) (*testEnv, []event.Event) {
		env := newEnv(t, testHCL+"rate_limit = 1000\nrate_burst = 1000\n", Options{SuperadminKey: rootKey})
		evs := makeEvents(1, 3)
		for i := range evs {
			evs[i].Name, evs[i].Type = "audit_log", "read"
			evs[i].Time = now.Add(time.Duration(i-40) * time.Second)
		}
		if err := env.store.Write(t.Context(), evs); err != nil {
			t.Fatal(err)
		}
		env.mu.Lock()
		env.storeReads = true
		env.mu.Unlock()
		return env, evs
	}
	for _, filter := range []string{"", "&event_name=audit_log"} {
		t.Run("filter "+filter, func(t *testing.T) {
			t.Parallel()
			env, _ := setup(t)
			pages, ended := env.walkPages(t, "/audit-logs?limit=1&order=asc&start_time="+start+filter, rootKey, 20)
			if !ended {
				t.Fatalf("still a next page after 20 pages: %v", pages)
			}
			if diff := cmp.Diff([][]int64{{1}, {2}, {3}, {}}, pages); diff != "" {
				t.Errorf("pages (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("desc", func(t *testing.T) {
		t.Parallel()
		// Descending pagers are unchanged: new events are newer than the cursor.
		env, _ := setup(t)
		pages, ended := env.walkPages(t, "/audit-logs?limit=1&start_time="+start, rootKey, 20)
		if diff := cmp.Diff([][]int64{{3}, {2}, {1}, {}}, pages); !ended || diff != "" {
			t.Errorf("ended %v, pages (-want +got):\n%s", ended, diff)
		}
	})
	t.Run("version 1 cursor", func(t *testing.T) {
		t.Parallel()
		// A cursor of the first format (no pin, no digest) still works, and
		// the next cursor it leads to pins the time.
		env, evs := setup(t)
		v1 := v1Cursor(env.srv.cursors, outputs.Cursor{Time: evs[0].Time, ID: 1}, outputs.Asc)
		pages, ended := env.walkPages(t, "/audit-logs?limit=1&start_time="+start+"&cursor="+v1, rootKey, 20)
		if diff := cmp.Diff([][]int64{{2}, {3}, {}}, pages); !ended || diff != "" {
			t.Errorf("ended %v, pages (-want +got):\n%s", ended, diff)
		}
	})
}

// TestServer_AscFirstPagePinned: an ascending pager without end_time holds
// the same events whatever its limit: the first page is bounded by the
// server's clock as the cursor bounds the pages after it, so an event dated
// in the future is in no page (before, it was in the first page only when
// every event fitted there). Descending pagers and end_time still see it.
func TestServer_AscFirstPagePinned(t *testing.T) {
	t.Parallel()
	env := newEnv(t, testHCL+"rate_limit = 1000\nrate_burst = 1000\n", Options{SuperadminKey: rootKey})
	now := time.Now().UTC()
	evs := makeEvents(1, 4)
	for i := range evs {
		evs[i].Time = now.Add(time.Duration(i-10) * time.Minute)
	}
	evs[3].Time = now.Add(time.Hour) // a host whose clock is an hour ahead
	if err := env.store.Write(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	start := url.QueryEscape(now.Add(-time.Hour).Format(time.RFC3339Nano))
	for _, tc := range []struct {
		query string
		want  [][]int64
	}{
		{"limit=100&order=asc", [][]int64{{1, 2, 3}}},
		{"limit=3&order=asc", [][]int64{{1, 2, 3}, {}}},
		{"limit=1&order=asc", [][]int64{{1}, {2}, {3}, {}}},
		{"limit=100", [][]int64{{4, 3, 2, 1}}},
		{"limit=100&order=asc&end_time=" + url.QueryEscape(now.Add(2*time.Hour).Format(time.RFC3339Nano)), [][]int64{{1, 2, 3, 4}}},
	} {
		pages, ended := env.walkPages(t, "/audit-logs?start_time="+start+"&"+tc.query, rootKey, 10)
		if diff := cmp.Diff(tc.want, pages); !ended || diff != "" {
			t.Errorf("%s: ended %v, pages (-want +got):\n%s", tc.query, ended, diff)
		}
	}
}

// TestServer_CursorTiedToParameters: a cursor answers 400 with parameters
// other than those of the page that issued it; limit may change.
func TestServer_CursorTiedToParameters(t *testing.T) {
	t.Parallel()
	env := newEnv(t, testHCL+"rate_limit = 1000\nrate_burst = 1000\n", Options{SuperadminKey: rootKey})
	if err := env.store.Write(t.Context(), makeEvents(1, 30)); err != nil {
		t.Fatal(err)
	}
	const first = "user_uid=2&event_name=user&event_name=dataset&start_time=2021-08-17T20:51:47Z&order=asc"
	_, h, _ := env.get(t, "/audit-logs?limit=1&"+first, rootKey)
	c := h.Get("X-Next-Cursor")
	if c == "" {
		t.Fatal("no cursor on a full page")
	}
	tests := []struct {
		name, query string
		status      int
	}{
		{"same", first, 200},
		{"other limit", "limit=3&" + first, 200},
		{"values in another order, same instant", "user_uid=2&event_name=dataset&event_name=user&start_time=2021-08-17T22:51:47%2B02:00", 200},
		{"other user_uid", "user_uid=8&event_name=user&event_name=dataset&start_time=2021-08-17T20:51:47Z", 400},
		{"no filter", "", 400},
		{"one name less", "user_uid=2&event_name=user&start_time=2021-08-17T20:51:47Z", 400},
		{"other start", "user_uid=2&event_name=user&event_name=dataset&start_time=2021-08-17T20:51:48Z", 400},
		{"end added", first + "&end_time=2030-01-01", 400},
		{"other order", "user_uid=2&event_name=user&event_name=dataset&start_time=2021-08-17T20:51:47Z&order=desc", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, _, b := env.get(t, "/audit-logs?"+tt.query+"&cursor="+c, rootKey)
			if status != tt.status {
				t.Fatalf("status %d, want %d; body %s", status, tt.status, b)
			}
			if status == 400 && !strings.Contains(string(b), "cursor") {
				t.Errorf("body %s does not name the cursor", b)
			}
		})
	}
}

// TestServer_TwoAuthorizationHeaders: Authorization is not a list.
func TestServer_TwoAuthorizationHeaders(t *testing.T) {
	t.Parallel()
	env := newEnv(t, testHCL, Options{SuperadminKey: rootKey})
	for _, auth := range [][]string{
		{"Bearer " + rootKey, "Bearer nope"},
		{"Bearer nope", "Bearer " + rootKey},
		{"Bearer " + rootKey, "Bearer " + rootKey},
	} {
		status, b := env.getWith(t, "/audit-logs", auth...)
		var e apiError
		if status != 400 || json.Unmarshal(b, &e) != nil || e.Error != "bad_request" || !strings.Contains(e.Message, "Authorization") {
			t.Errorf("headers %q: status %d body %s, want 400 bad_request naming Authorization", auth, status, b)
		}
	}
	if status, b := env.getWith(t, "/audit-logs", "Bearer "+rootKey); status != 200 {
		t.Errorf("one header: status %d; body %s", status, b)
	}
}

// lockedBuffer is a log destination written by server goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns the JSON log lines written so far.
func (l *lockedBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for s := range strings.SplitSeq(strings.TrimSpace(l.b.String()), "\n") {
		if s == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("log line %q: %v", s, err)
		}
		out = append(out, m)
	}
	return out
}

// TestServer_RefusalsLogged: 401, 403 and 429 are logged at warn, at most
// once a minute per address with a count of the others, never with a key.
func TestServer_RefusalsLogged(t *testing.T) {
	t.Parallel()
	var buf lockedBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	env := newEnv(t, testHCL+"rate_limit = 0.01\nrate_burst = 2\n", Options{SuperadminKey: rootKey, Log: log})
	var mu sync.Mutex
	clock := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	env.srv.now = func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return clock
	}
	advance := func() {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(refusalLogEvery)
	}
	const guess = "guessed-secret-token"
	refused := func() []map[string]any {
		var out []map[string]any
		for _, l := range buf.lines(t) {
			if l["msg"] == "request refused" {
				out = append(out, l)
			}
		}
		return out
	}
	steps := []struct {
		key    string
		status float64
		reason string
	}{
		{"", 401, "missing API key"},
		{guess, 401, "unknown API key"},
		{guess, 429, "too many requests without a valid API key from this address"},
		{viewerKey, 403, "role viewer may not read audit logs"},
		{opsKey, 0, ""}, // 200: not logged
		{opsKey, 0, ""},
		{opsKey, 429, "rate limit of the API key"},
	}
	want := 0
	for i, st := range steps {
		advance()
		status, _, b := env.get(t, "/audit-logs", st.key)
		if st.status == 0 {
			if status != 200 {
				t.Fatalf("step %d: status %d; body %s", i, status, b)
			}
			continue
		}
		want++
		got := refused()
		if len(got) != want {
			t.Fatalf("step %d (status %d): %d refusal lines, want %d", i, status, len(got), want)
		}
		l := got[want-1]
		if l["level"] != "WARN" || l["status"] != st.status || l["remote_addr"] != "127.0.0.1" || l["reason"] != st.reason || l["suppressed"] != 0.0 {
			t.Errorf("step %d: line %v, want WARN status %v from 127.0.0.1, reason %q, suppressed 0", i, l, st.status, st.reason)
		}
	}
	// Within a minute, further refusals from the address are counted, not
	// logged; the next line carries the count.
	for range 5 {
		env.get(t, "/audit-logs", guess)
	}
	if got := refused(); len(got) != want {
		t.Fatalf("%d refusal lines after a burst within a minute, want %d", len(got), want)
	}
	advance()
	env.get(t, "/audit-logs", "")
	got := refused()
	if len(got) != want+1 || got[want]["suppressed"] != 5.0 {
		t.Errorf("line after the burst: %v, want suppressed 5", got[len(got)-1])
	}
	buf.mu.Lock()
	all := buf.b.String()
	buf.mu.Unlock()
	for _, secret := range []string{guess, viewerKey, opsKey, rootKey, HashKey(guess), HashKey(viewerKey)} {
		if strings.Contains(all, secret) {
			t.Errorf("the log holds key material %q:\n%s", secret, all)
		}
	}
}
