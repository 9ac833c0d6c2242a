package elasticsearch

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/internal/testes"
	"github.com/auditship/auditship/outputs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// searchableWithin bounds how long a test waits for acknowledged events to
// become searchable (ZincSearch indexes asynchronously; Elasticsearch
// refreshes every second).
const searchableWithin = 30 * time.Second

// testConfig returns a Config for the server at baseURL (credentials as
// userinfo; the password goes through password_file) writing under prefix.
func testConfig(t testing.TB, baseURL, prefix string) Config {
	t.Helper()
	base, user, password := testes.Credentials(t, baseURL)
	c := DefaultConfig()
	c.Addresses = []string{base}
	c.IndexPrefix = prefix
	c.RequestTimeout = "10s"
	if user != "" {
		c.Username = user
		c.PasswordFile = testes.PasswordFile(t, password)
	}
	return c
}

// openOutput opens an Output and closes it when the test ends.
func openOutput(t testing.TB, c Config) *Output {
	t.Helper()
	o, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Open(t.Context()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = o.Close(t.Context()) })
	return o
}

// makeEvents returns n events from start, several per microsecond, with
// names, types and users cycling; ids are ascending but not by time.
func makeEvents(n int, start time.Time, firstID int64) []event.Event {
	names := []string{"api_key", "user", "dataset"}
	types := []string{"create", "delete", "login", "update"}
	evs := make([]event.Event, n)
	for i := range n {
		name := names[i%len(names)]
		evs[i] = event.Event{
			ID:      firstID + int64((i*7919)%n),
			Time:    start.Add(time.Duration(i/3) * 1500 * time.Microsecond),
			Name:    name,
			Type:    types[i%len(types)],
			UserUID: int64(i%5 + 1),
			Details: map[string]any{
				"seq":    json.Number(strconv.Itoa(i)),
				"label":  fmt.Sprintf("%s #%d \"quoted\" ünïcode", name, i),
				"nested": map[string]any{"ok": i%2 == 0},
			},
		}
	}
	return evs
}

// want renders events as Search returns them: time to the microsecond,
// UTC, no Source, details as JSON-decoded.
func want(t testing.TB, evs []event.Event) []event.Event {
	t.Helper()
	out := make([]event.Event, len(evs))
	for i, e := range evs {
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		var r event.Event
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		out[i] = r
	}
	return out
}

// sorted returns evs sorted on (time, id) in order.
func sorted(evs []event.Event, order outputs.Order) []event.Event {
	out := slices.Clone(evs)
	slices.SortFunc(out, func(a, b event.Event) int {
		c := cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID))
		if order == outputs.Desc {
			return -c
		}
		return c
	})
	return out
}

// waitSearchable polls until a search for q returns n events.
func waitSearchable(t testing.TB, o *Output, q outputs.Query, n int) {
	t.Helper()
	testes.Poll(t, searchableWithin, func() error {
		got, err := o.Search(t.Context(), q)
		if err != nil {
			return err
		}
		if len(got) != n {
			return fmt.Errorf("%d of %d events searchable", len(got), n)
		}
		return nil
	})
}

func TestContract(t *testing.T) {
	runContract(t, testes.URL(t))
}

// runContract checks Output against the server at baseURL.
func runContract(t *testing.T, baseURL string) {
	t.Run("open is idempotent", func(t *testing.T) {
		t.Parallel()
		c := testConfig(t, baseURL, testes.IndexPrefix(t, baseURL))
		o := openOutput(t, c)
		if err := o.Open(t.Context()); err != nil {
			t.Fatalf("second Open: %v", err)
		}
		if err := Setup(t.Context(), c, nil); err != nil {
			t.Fatalf("Setup after Open: %v", err)
		}
		if err := o.Open(t.Context()); err != nil {
			t.Fatalf("Open after Setup: %v", err)
		}
	})

	t.Run("search before any write is empty", func(t *testing.T) {
		t.Parallel()
		o := openOutput(t, testConfig(t, baseURL, testes.IndexPrefix(t, baseURL)))
		got, err := o.Search(t.Context(), outputs.Query{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 0 {
			t.Fatalf("got %d events, want none", len(got))
		}
	})

	t.Run("write then search returns events exactly", func(t *testing.T) {
		t.Parallel()
		o := openOutput(t, testConfig(t, baseURL, testes.IndexPrefix(t, baseURL)))
		at := time.Date(2026, 11, 3, 12, 0, 0, 123456789, time.UTC) // ns beyond µs are dropped
		evs := []event.Event{
			{ID: 1<<62 + 12345, Time: at, Name: "api_key", Type: "create", UserUID: 42, Details: map[string]any{
				"big":      json.Number("9007199254740993"),
				"min":      json.Number("-9223372036854775808"),
				"ratio":    json.Number("1.10"),
				"text":     "<&> \"q\" \u2028 \x01 ☃",
				"list":     []any{"a", "b"},
				"nested":   map[string]any{"deep": map[string]any{"n": json.Number("18446744073709551615")}},
				"nothing":  nil,
				"disabled": false,
			}},
			{ID: 7, Time: at.Add(-time.Microsecond), Name: "user.login", Type: "login", UserUID: 9007199254740991},
			{ID: 8, Time: time.Date(2026, 12, 31, 23, 59, 59, 999999000, time.FixedZone("x", 3600)), Name: "dataset", Type: "delete", UserUID: 1, Details: map[string]any{}},
		}
		if err := o.Write(t.Context(), evs); err != nil {
			t.Fatalf("Write: %v", err)
		}
		q := outputs.Query{Limit: 10, Order: outputs.Asc}
		waitSearchable(t, o, q, len(evs))
		got, err := o.Search(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff(sorted(want(t, evs), outputs.Asc), got); diff != "" {
			t.Errorf("Search (-want +got):\n%s", diff)
		}
	})

	t.Run("writing twice stores each event once", func(t *testing.T) {
		t.Parallel()
		o := openOutput(t, testConfig(t, baseURL, testes.IndexPrefix(t, baseURL)))
		evs := makeEvents(30, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), 100)
		for range 2 {
			if err := o.Write(t.Context(), evs); err != nil {
				t.Fatalf("Write: %v", err)
			}
		}
		q := outputs.Query{Limit: 100}
		waitSearchable(t, o, q, len(evs))
		// Also the first half again after everything is searchable.
		if err := o.Write(t.Context(), evs[:15]); err != nil {
			t.Fatalf("Write: %v", err)
		}
		waitSearchable(t, o, q, len(evs))
		got, err := o.Search(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		if diff := gocmp.Diff(sorted(want(t, evs), outputs.Desc), got); diff != "" {
			t.Errorf("Search (-want +got):\n%s", diff)
		}
	})

	t.Run("filters and orders", func(t *testing.T) {
		t.Parallel()
		o := openOutput(t, testConfig(t, baseURL, testes.IndexPrefix(t, baseURL)))
		// Spans two months, so two indexes behind the alias.
		evs := makeEvents(60, time.Date(2026, 10, 31, 23, 59, 59, 990000000, time.UTC), 1000)
		if err := o.Write(t.Context(), evs); err != nil {
			t.Fatalf("Write: %v", err)
		}
		waitSearchable(t, o, outputs.Query{Limit: 100}, len(evs))
		all := want(t, evs)
		mid := all[30].Time
		tests := []struct {
			name string
			q    outputs.Query
			keep func(e event.Event) bool
		}{
			{"all", outputs.Query{}, func(event.Event) bool { return true }},
			{"names", outputs.Query{Names: []string{"user", "dataset"}}, func(e event.Event) bool { return e.Name != "api_key" }},
			{"types", outputs.Query{Types: []string{"login"}}, func(e event.Event) bool { return e.Type == "login" }},
			{"users", outputs.Query{UserUIDs: []int64{2, 5}}, func(e event.Event) bool { return e.UserUID == 2 || e.UserUID == 5 }},
			{"start inclusive", outputs.Query{Start: mid}, func(e event.Event) bool { return !e.Time.Before(mid) }},
			{"end exclusive", outputs.Query{End: mid}, func(e event.Event) bool { return e.Time.Before(mid) }},
			{"start between microseconds", outputs.Query{Start: mid.Add(-500 * time.Nanosecond)}, func(e event.Event) bool { return !e.Time.Before(mid) }},
			{"combined", outputs.Query{Names: []string{"api_key"}, UserUIDs: []int64{1, 2, 3}, End: mid}, func(e event.Event) bool {
				return e.Name == "api_key" && e.UserUID <= 3 && e.Time.Before(mid)
			}},
		}
		for _, tt := range tests {
			for _, order := range []outputs.Order{outputs.Desc, outputs.Asc} {
				t.Run(fmt.Sprintf("%s order %d", tt.name, order), func(t *testing.T) {
					q := tt.q
					q.Limit, q.Order = 100, order
					got, err := o.Search(t.Context(), q)
					if err != nil {
						t.Fatal(err)
					}
					wantEvs := sorted(slices.DeleteFunc(slices.Clone(all), func(e event.Event) bool { return !tt.keep(e) }), order)
					if diff := gocmp.Diff(wantEvs, got); diff != "" {
						t.Errorf("Search (-want +got):\n%s", diff)
					}
				})
			}
		}
		t.Run("limit", func(t *testing.T) {
			got, err := o.Search(t.Context(), outputs.Query{Limit: 7})
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(sorted(all, outputs.Desc)[:7], got); diff != "" {
				t.Errorf("Search (-want +got):\n%s", diff)
			}
		})
	})

	t.Run("keyset paging with duplicate timestamps", func(t *testing.T) {
		t.Parallel()
		c := testConfig(t, baseURL, testes.IndexPrefix(t, baseURL))
		c.FlushEvents = 100 // several requests per Write, two in flight
		o := openOutput(t, c)
		evs := makeEvents(500, time.Date(2026, 7, 14, 8, 0, 0, 0, time.UTC), 1<<40)
		if err := o.Write(t.Context(), evs); err != nil {
			t.Fatalf("Write: %v", err)
		}
		waitSearchable(t, o, outputs.Query{Limit: 1000}, len(evs))
		for _, order := range []outputs.Order{outputs.Desc, outputs.Asc} {
			var got []event.Event
			q := outputs.Query{Limit: 37, Order: order}
			for page := 0; ; page++ {
				if page > 20 {
					t.Fatalf("order %d: more pages than events allow", order)
				}
				evs, err := o.Search(t.Context(), q)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, evs...)
				if len(evs) < q.Limit {
					break
				}
				last := evs[len(evs)-1]
				q.After = &outputs.Cursor{Time: last.Time, ID: last.ID}
			}
			if diff := gocmp.Diff(sorted(want(t, evs), order), got); diff != "" {
				t.Errorf("order %d: pages (-want +got):\n%s", order, diff)
			}
		}
	})
}

// TestOpen_Unreachable opens the output on a port where nothing listens:
// Open succeeds (the agent must start while Elasticsearch is down), while
// Write, Search and Setup fail with an error wrapping ErrUnavailable.
func TestOpen_Unreachable(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	c.Addresses = []string{"http://127.0.0.1:1"}
	c.RequestTimeout = "2s"
	o, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Open(t.Context()); err != nil {
		t.Fatalf("Open with the cluster down: %v, want nil", err)
	}
	defer func() { _ = o.Close(t.Context()) }()
	if err := o.Write(t.Context(), makeEvents(1, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), 1)); !errors.Is(err, outputs.ErrUnavailable) {
		t.Errorf("Write with the cluster down: %v, want an error wrapping ErrUnavailable", err)
	}
	if _, err := o.Search(t.Context(), outputs.Query{Limit: 10}); !errors.Is(err, outputs.ErrUnavailable) {
		t.Errorf("Search with the cluster down: %v, want an error wrapping ErrUnavailable", err)
	}
	if err := Setup(t.Context(), c, nil); !errors.Is(err, outputs.ErrUnavailable) {
		t.Errorf("Setup with the cluster down: %v, want an error wrapping ErrUnavailable", err)
	}
}

// TestOpen_ClusterComesUp opens the output through a proxy that answers
// 503 (a load balancer in front of a cluster that is down), then lets the
// requests through: the first Write after that installs the template and
// stores the events, and Search finds them.
func TestOpen_ClusterComesUp(t *testing.T) {
	t.Parallel()
	baseURL := testes.URL(t)
	c := testConfig(t, baseURL, testes.IndexPrefix(t, baseURL))
	target, err := url.Parse(c.Addresses[0])
	if err != nil {
		t.Fatal(err)
	}
	var up atomic.Bool
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: target.Scheme, Host: target.Host})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "no healthy upstream", http.StatusServiceUnavailable)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	defer srv.Close()
	proxied := *target
	pu, _ := url.Parse(srv.URL)
	proxied.Host = pu.Host
	c.Addresses = []string{proxied.String()}
	o, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Open(t.Context()); err != nil {
		t.Fatalf("Open behind a proxy answering 503: %v, want nil", err)
	}
	defer func() { _ = o.Close(t.Context()) }()
	evs := makeEvents(5, time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), 7000)
	if err := o.Write(t.Context(), evs); !errors.Is(err, outputs.ErrUnavailable) {
		t.Fatalf("Write while the proxy answers 503: %v, want an error wrapping ErrUnavailable", err)
	}
	up.Store(true)
	if err := o.Write(t.Context(), evs); err != nil {
		t.Fatalf("Write once the cluster answers: %v", err)
	}
	waitSearchable(t, o, outputs.Query{Limit: 100}, len(evs))
}

func TestOpen_WrongPassword(t *testing.T) {
	t.Parallel()
	baseURL := testes.URL(t)
	c := testConfig(t, baseURL, testes.IndexPrefix(t, baseURL))
	if c.Username == "" {
		t.Fatal("ELASTICSEARCH_URL has no credentials; this test needs a server that checks them")
	}
	c.PasswordFile = testes.PasswordFile(t, "wrong-password")
	o, err := New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = o.Open(t.Context())
	if err == nil {
		t.Fatal("Open with a wrong password succeeded")
	}
	if got := err.Error(); !strings.Contains(got, "credentials refused") || strings.Contains(got, "wrong-password") {
		t.Fatalf("Open = %q, want it to say credentials refused and not show the password", got)
	}
}

func TestOpen_IncompatibleTemplate(t *testing.T) {
	t.Parallel()
	baseURL := testes.URL(t)
	prefix := testes.IndexPrefix(t, baseURL)
	body := fmt.Sprintf(`{"index_patterns":[%q],"template":{"mappings":{"properties":{"event_time":{"type":"keyword"}}}}}`, prefix+"-*")
	res, err := testes.Do(t, "PUT", baseURL+"/_index_template/"+prefix, []byte(body))
	if err != nil || res.Status >= 300 {
		t.Fatalf("put template: %v %d %s", err, res.Status, res.Body)
	}
	o, err := New(testConfig(t, baseURL, prefix), nil)
	if err != nil {
		t.Fatal(err)
	}
	err = o.Open(t.Context())
	if err == nil || !strings.Contains(err.Error(), "incompatible mapping") {
		t.Fatalf("Open = %v, want an incompatible mapping error", err)
	}
	t.Log(err)
}
