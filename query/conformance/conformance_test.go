package conformance

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/internal/testes"
	"github.com/auditship/auditship/outputs"
	"github.com/auditship/auditship/outputs/elasticsearch"
	"github.com/auditship/auditship/outputs/sqlite"
	"github.com/auditship/auditship/query"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	adminKey = "conformance-superadmin-key"
	// searchableWithin bounds the wait for Elasticsearch (ZincSearch indexes
	// about 2,000 documents/s after acknowledging them).
	searchableWithin = 40 * time.Second
)

// backend is one store behind a real query server.
type backend struct {
	name   string
	out    outputs.Output
	search outputs.Searcher
	url    string // base URL of the query server
	client *http.Client
	// count, when set, returns how many events are searchable more cheaply
	// than a search for all of them.
	count func() (int, error)
}

// openSQLite opens an embedded store in a temporary directory.
func openSQLite(t *testing.T) *sqlite.Store {
	t.Helper()
	st, err := sqlite.New(sqlite.DefaultConfig(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	return st
}

// openES opens the Elasticsearch output on the test server (or
// ELASTICSEARCH_URL) under an index prefix of this test, deleted after it.
func openES(t *testing.T) (*elasticsearch.Output, func() (int, error)) {
	t.Helper()
	u := testes.URL(t)
	base, user, password := testes.Credentials(t, u)
	c := elasticsearch.DefaultConfig()
	c.Addresses = []string{base}
	c.IndexPrefix = testes.IndexPrefix(t, u)
	count := func() (int, error) {
		res, err := testes.Do(t, http.MethodPost, u+"/"+c.IndexPrefix+"/_search", []byte(`{"size":0,"track_total_hits":true}`))
		if err != nil {
			return 0, err
		}
		var r struct {
			Hits struct {
				Total struct {
					Value int `json:"value"`
				} `json:"total"`
			} `json:"hits"`
		}
		if res.Status != 200 || json.Unmarshal(res.Body, &r) != nil {
			return 0, fmt.Errorf("count: HTTP %d: %s", res.Status, res.Body)
		}
		return r.Hits.Total.Value, nil
	}
	c.RequestTimeout = "20s"
	if user != "" {
		c.Username = user
		c.PasswordFile = testes.PasswordFile(t, password)
	}
	o, err := elasticsearch.New(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Open(t.Context()); err != nil {
		t.Fatalf("open elasticsearch output: %v", err)
	}
	t.Cleanup(func() { _ = o.Close(context.Background()) })
	return o, count
}

// serve puts a real query server (real HTTP on 127.0.0.1) over s. Both
// backends get the same superadmin key, hence the same cursor secret, so
// their X-Next-Cursor and Link headers must be equal too.
func serve(t *testing.T, name string, o outputs.Output) *backend {
	t.Helper()
	s, ok := o.(outputs.Searcher)
	if !ok {
		t.Fatalf("%s output is not a Searcher", name)
	}
	c := query.DefaultConfig()
	c.Listen = "127.0.0.1:0"
	c.RateLimit, c.RateBurst = 1e6, 1e6
	srv, err := query.New(c, s, query.Options{SuperadminKey: adminKey})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	tr := &http.Transport{MaxIdleConnsPerHost: 4}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		hs.Close()
	})
	return &backend{name: name, out: o, search: s, url: hs.URL, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// backends returns the embedded store and Elasticsearch, each behind a
// query server.
func backends(t *testing.T) []*backend {
	o, count := openES(t)
	es := serve(t, "elasticsearch", o)
	es.count = count
	return []*backend{serve(t, "sqlite", openSQLite(t)), es}
}

// write stores evs in every backend.
func write(t *testing.T, bs []*backend, evs []event.Event) {
	t.Helper()
	for _, b := range bs {
		if err := b.out.Write(t.Context(), evs); err != nil {
			t.Fatalf("%s: write %d events: %v", b.name, len(evs), err)
		}
	}
}

// waitSearchable polls every backend until n events are searchable.
func waitSearchable(t *testing.T, bs []*backend, n int) {
	t.Helper()
	for _, b := range bs {
		began := time.Now()
		testes.Poll(t, searchableWithin, func() error {
			var got int
			if b.count != nil {
				var err error
				if got, err = b.count(); err != nil {
					return err
				}
				time.Sleep(200 * time.Millisecond) // leave the server's cores to indexing
			} else {
				evs, err := b.search.Search(t.Context(), outputs.Query{Limit: query.MaxLimit, Order: outputs.Asc})
				if err != nil {
					return err
				}
				got = len(evs)
			}
			if got < n {
				return fmt.Errorf("%s: %d of %d events searchable", b.name, got, n)
			}
			return nil
		})
		t.Logf("%s: %d events searchable after %s", b.name, n, time.Since(began).Round(time.Millisecond))
	}
}

// page is one answer of GET /audit-logs.
type page struct {
	status int
	body   string
	next   string // X-Next-Cursor
	link   string
}

// withoutCursor returns p with its cursor replaced by "CURSOR".
func (p page) withoutCursor() page {
	if p.next != "" {
		p.link = strings.Replace(p.link, "cursor="+p.next, "cursor=CURSOR", 1)
		p.next = "CURSOR"
	}
	return p
}

func (b *backend) get(t *testing.T, pathQuery string) page {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.url+pathQuery, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := b.client.Do(req)
	if err != nil {
		t.Fatalf("%s: GET %s: %v", b.name, pathQuery, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return page{status: resp.StatusCode, body: string(body), next: resp.Header.Get("X-Next-Cursor"), link: resp.Header.Get("Link")}
}

// walk fetches the pages of pathQuery, following Link, up to maxPages.
func (b *backend) walk(t *testing.T, pathQuery string, maxPages int) []page {
	t.Helper()
	var pages []page
	next := pathQuery
	for len(pages) < maxPages && next != "" {
		p := b.get(t, next)
		if p.status != 200 {
			t.Fatalf("%s: GET %s: status %d: %s", b.name, next, p.status, p.body)
		}
		pages = append(pages, p)
		next = ""
		if p.link != "" {
			u, rest, ok := strings.Cut(strings.TrimPrefix(p.link, "<"), ">")
			if !ok || rest != `; rel="next"` {
				t.Fatalf("%s: Link %q, want <url>; rel=\"next\"", b.name, p.link)
			}
			next = u
		}
	}
	return pages
}

func decode(t *testing.T, body string) []event.Event {
	t.Helper()
	var evs []event.Event
	if err := json.Unmarshal([]byte(body), &evs); err != nil {
		t.Fatalf("decode %q: %v", body, err)
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

// compare orders by (event_time, event_id) ascending.
func compare(a, b event.Event) int {
	return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID))
}

// start is just before a month boundary, so Elasticsearch spreads the
// events over two monthly indexes behind its alias.
var start = time.Date(2021, 8, 31, 23, 0, 0, 0, time.UTC)

// corpus returns n events over about two hours from start, three per
// microsecond, ids ascending but not in time order, at whole microseconds
// (both stores keep microseconds; SQLite keeps more).
func corpus(n int, firstID int64) []event.Event {
	names := []string{"user", "dataset", "api_key"}
	types := []string{"create", "delete", "login", "update"}
	evs := make([]event.Event, n)
	for i := range n {
		evs[i] = event.Event{
			ID:      firstID + int64((i*7919)%n),
			Time:    start.Add(time.Duration(i/3) * (14*time.Second + 1537*time.Microsecond)),
			Name:    names[i%len(names)],
			Type:    types[(i/2)%len(types)],
			UserUID: int64(i%5 + 1),
			Details: map[string]any{
				"seq":    json.Number(strconv.Itoa(i)),
				"label":  fmt.Sprintf("%s #%d \"quoted\" ünïcode", names[i%len(names)], i),
				"nested": map[string]any{"ok": i%2 == 0, "big": json.Number("9007199254740993")},
			},
		}
	}
	return evs
}

// combo is one parameter combination and the events it must select.
type combo struct {
	name     string
	params   url.Values
	keep     func(e event.Event) bool
	maxPages int // 0: all
}

func vals(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

func TestConformance(t *testing.T) {
	t.Parallel()
	bs := backends(t)
	evs := corpus(600, 1)
	evs = append(evs, event.Event{ID: 1_000_000, Time: start.Add(time.Hour), Name: "user", Type: "login", UserUID: 1 << 40, Details: map[string]any{}})
	write(t, bs, evs)
	waitSearchable(t, bs, len(evs))

	sorted := slices.Clone(evs)
	slices.SortFunc(sorted, compare)
	tMid := sorted[len(sorted)/2].Time // an event's exact time
	tQ := sorted[len(sorted)/4].Time
	t3Q := sorted[3*len(sorted)/4].Time
	plus2 := time.FixedZone("", 2*3600)
	minus5 := time.FixedZone("", -5*3600-30*60)
	all := func(event.Event) bool { return true }
	in := func(s string, set ...string) bool { return slices.Contains(set, s) }

	combos := []combo{
		{name: "defaults", params: vals(), keep: all},
		{name: "limit 1", params: vals("limit", "1"), keep: all, maxPages: 4},
		{name: "limit 7", params: vals("limit", "7"), keep: all, maxPages: 6},
		{name: "limit 137 asc", params: vals("limit", "137", "order", "asc"), keep: all},
		{name: "limit max", params: vals("limit", "10000"), keep: all},
		{name: "order asc", params: vals("order", "asc"), keep: all},
		{name: "order desc", params: vals("order", "desc", "limit", "250"), keep: all},
		{name: "start naive utc", params: vals("start_time", event.FormatTime(tMid), "order", "asc"),
			keep: func(e event.Event) bool { return !e.Time.Before(tMid) }},
		{name: "start with z", params: vals("start_time", tMid.Format(time.RFC3339Nano)),
			keep: func(e event.Event) bool { return !e.Time.Before(tMid) }},
		{name: "start with offset", params: vals("start_time", tMid.In(plus2).Format(time.RFC3339Nano), "limit", "50"),
			keep: func(e event.Event) bool { return !e.Time.Before(tMid) }},
		{name: "end naive utc", params: vals("end_time", event.FormatTime(tMid), "limit", "90"),
			keep: func(e event.Event) bool { return e.Time.Before(tMid) }},
		{name: "end with negative offset", params: vals("end_time", tMid.In(minus5).Format(time.RFC3339Nano), "order", "asc"),
			keep: func(e event.Event) bool { return e.Time.Before(tMid) }},
		{name: "range", params: vals("start_time", event.FormatTime(tQ), "end_time", t3Q.In(plus2).Format(time.RFC3339Nano), "limit", "64"),
			keep: func(e event.Event) bool { return !e.Time.Before(tQ) && e.Time.Before(t3Q) }},
		{name: "sub-microsecond bounds", params: vals("start_time", tQ.Add(500*time.Nanosecond).Format(time.RFC3339Nano), "end_time", t3Q.Add(1).Format("2006-01-02T15:04:05.999999999"), "order", "asc"),
			keep: func(e event.Event) bool { return e.Time.After(tQ) && !e.Time.After(t3Q) }},
		{name: "date only across months", params: vals("start_time", "2021-09-01", "order", "asc"),
			keep: func(e event.Event) bool { return !e.Time.Before(time.Date(2021, 9, 1, 0, 0, 0, 0, time.UTC)) }},
		{name: "empty range", params: vals("start_time", event.FormatTime(tMid), "end_time", event.FormatTime(tMid)),
			keep: func(event.Event) bool { return false }},
		{name: "event_name", params: vals("event_name", "dataset"), keep: func(e event.Event) bool { return e.Name == "dataset" }},
		{name: "event_name repeated", params: vals("event_name", "user", "event_name", "api_key", "limit", "100", "order", "asc"),
			keep: func(e event.Event) bool { return in(e.Name, "user", "api_key") }},
		{name: "event_name unknown", params: vals("event_name", "nothing"), keep: func(event.Event) bool { return false }},
		{name: "event_type", params: vals("event_type", "login", "limit", "40"), keep: func(e event.Event) bool { return e.Type == "login" }},
		{name: "event_type repeated", params: vals("event_type", "create", "event_type", "delete", "order", "asc"),
			keep: func(e event.Event) bool { return in(e.Type, "create", "delete") }},
		{name: "user_uid", params: vals("user_uid", "3"), keep: func(e event.Event) bool { return e.UserUID == 3 }},
		{name: "user_uid repeated", params: vals("user_uid", "1", "user_uid", "5", "user_uid", strconv.FormatInt(1<<40, 10), "limit", "33"),
			keep: func(e event.Event) bool { return e.UserUID == 1 || e.UserUID == 5 || e.UserUID == 1<<40 }},
		{name: "all filters", params: vals("event_name", "user", "event_name", "dataset", "event_type", "update", "event_type", "login",
			"user_uid", "2", "user_uid", "4", "start_time", event.FormatTime(tQ), "end_time", t3Q.Format(time.RFC3339Nano), "limit", "5", "order", "asc"),
			keep: func(e event.Event) bool {
				return in(e.Name, "user", "dataset") && in(e.Type, "update", "login") && (e.UserUID == 2 || e.UserUID == 4) &&
					!e.Time.Before(tQ) && e.Time.Before(t3Q)
			}},
	}
	for _, c := range combos {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			asc := c.params.Get("order") == "asc"
			limit := query.DefaultLimit
			if s := c.params.Get("limit"); s != "" {
				limit, _ = strconv.Atoi(s)
			}
			var want []int64
			for _, e := range sorted {
				if c.keep(e) {
					want = append(want, e.ID)
				}
			}
			if !asc {
				slices.Reverse(want)
			}
			maxPages := c.maxPages
			if maxPages == 0 {
				maxPages = 1000
			} else if len(want) > maxPages*limit {
				want = want[:maxPages*limit]
			}
			pathQuery := "/audit-logs?" + c.params.Encode()
			var first []page
			for i, b := range bs {
				pages := b.walk(t, pathQuery, maxPages)
				var got []int64
				for j, p := range pages {
					evs := decode(t, p.body)
					if (len(evs) == limit) != (p.next != "") {
						t.Errorf("%s: page %d has %d events (limit %d) and X-Next-Cursor %q", b.name, j, len(evs), limit, p.next)
					}
					got = append(got, ids(evs)...)
				}
				if diff := gocmp.Diff(want, got); diff != "" {
					t.Errorf("%s: event ids differ from the model (-want +got):\n%s", b.name, diff)
				}
				if i == 0 {
					first = pages
					continue
				}
				if len(pages) != len(first) {
					t.Fatalf("%s has %d pages, %s has %d", b.name, len(pages), bs[0].name, len(first))
				}
				for j := range pages {
					pa, pb := first[j], pages[j]
					if asc && c.params.Get("end_time") == "" {
						// The cursor pins each server's own clock at the
						// first page: compare everything else.
						pa, pb = pa.withoutCursor(), pb.withoutCursor()
					}
					if diff := gocmp.Diff(pa, pb, gocmp.AllowUnexported(page{})); diff != "" {
						t.Errorf("page %d: %s and %s differ (-%s +%s):\n%s", j, bs[0].name, b.name, bs[0].name, b.name, diff)
					}
				}
			}
		})
	}
}

// pagingEvents is the snapshot size of TestConformance_PagingWhileAdding
// per backend. ZincSearch makes about 2,000 documents/s searchable on an
// idle 2-core machine, but only about 200/s while other builds and tests
// share it, so its snapshot is smaller unless
// AUDITSHIP_CONFORMANCE_ES_EVENTS asks for more (10000 against a real
// cluster or an idle machine).
func pagingEvents(t *testing.T, backend string) int {
	if backend != "elasticsearch" {
		return 10000
	}
	if s := os.Getenv("AUDITSHIP_CONFORMANCE_ES_EVENTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 10000 {
			t.Fatalf("AUDITSHIP_CONFORMANCE_ES_EVENTS=%q is not a number from 1 to 10000", s)
		}
		return n
	}
	return 2000
}

// TestConformance_PagingWhileAdding pages through a snapshot of 10,000
// events (see [pagingEvents] for Elasticsearch) in pages of 137 while events
// are added before, inside and after the snapshot's time range, on both
// backends and in both orders: every event of the starting snapshot must come
// back exactly once, all in order.
func TestConformance_PagingWhileAdding(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			snapshot := corpus(pagingEvents(t, b.name), 1)
			write(t, []*backend{b}, snapshot)
			waitSearchable(t, []*backend{b}, len(snapshot))
			pagingWhileAdding(t, b, snapshot)
		})
	}
}

func pagingWhileAdding(t *testing.T, b *backend, snapshot []event.Event) {
	first, last := snapshot[0].Time, snapshot[len(snapshot)-1].Time
	span := last.Sub(first)
	extraID := int64(10_000_000)
	{
		for _, order := range []string{"desc", "asc"} {
			t.Run(order, func(t *testing.T) {
				next := "/audit-logs?limit=137&order=" + order
				var got []event.Event
				for pageNo := 0; next != ""; pageNo++ {
					if pageNo > 200 {
						t.Fatal("more than 200 pages")
					}
					p := b.get(t, next)
					if p.status != 200 {
						t.Fatalf("page %d: status %d: %s", pageNo, p.status, p.body)
					}
					got = append(got, decode(t, p.body)...)
					next = ""
					if p.link != "" {
						u, _, _ := strings.Cut(strings.TrimPrefix(p.link, "<"), ">")
						next = u
					}
					// Five new events per page: before, inside and after
					// the snapshot's range, some sharing a snapshot time.
					extra := make([]event.Event, 5)
					for i := range extra {
						extraID++
						at := first.Add(time.Duration(int64(span) * int64((pageNo*37+i*211)%140-20) / 100))
						if i == 0 {
							at = snapshot[(pageNo*613)%len(snapshot)].Time
						}
						extra[i] = event.Event{ID: extraID, Time: at.Truncate(time.Microsecond), Name: "user", Type: "create", UserUID: 9, Details: map[string]any{"extra": true}}
					}
					if err := b.out.Write(t.Context(), extra); err != nil {
						t.Fatal(err)
					}
				}
				seen := make(map[int64]int, len(got))
				for i, e := range got {
					seen[e.ID]++
					if i > 0 {
						c := compare(got[i-1], e)
						if (order == "asc" && c >= 0) || (order == "desc" && c <= 0) {
							t.Fatalf("events %d and %d out of %s order", got[i-1].ID, e.ID, order)
						}
					}
				}
				missing, dup := 0, 0
				for _, e := range snapshot {
					switch seen[e.ID] {
					case 0:
						missing++
					case 1:
					default:
						dup++
					}
				}
				if missing > 0 || dup > 0 {
					t.Errorf("of %d snapshot events, %d missing and %d returned more than once", len(snapshot), missing, dup)
				}
			})
		}
	}
}
