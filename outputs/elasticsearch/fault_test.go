package elasticsearch

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/internal/testes"
	"github.com/auditship/auditship/outputs"
)

// proxied opens an Output that talks to the test server through a fault
// proxy, and returns both with ten events to write.
func proxied(t *testing.T, mutate func(*Config)) (*Output, *testes.FaultProxy, []event.Event) {
	t.Helper()
	baseURL := testes.URL(t)
	p := testes.NewFaultProxy(t, baseURL)
	c := testConfig(t, p.URL(), testes.IndexPrefix(t, baseURL))
	if mutate != nil {
		mutate(&c)
	}
	o := openOutput(t, c)
	return o, p, makeEvents(10, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), 500)
}

func batchError(t *testing.T, err error) *outputs.BatchError {
	t.Helper()
	be, ok := errors.AsType[*outputs.BatchError](err)
	if !ok {
		t.Fatalf("Write = %v, want a *outputs.BatchError", err)
	}
	return be
}

func ids(evs []event.Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = strconv.FormatInt(e.ID, 10)
	}
	return out
}

func TestWrite_ItemFaults(t *testing.T) {
	t.Run("429 items are retryable and only they are re-sent", func(t *testing.T) {
		t.Parallel()
		o, p, evs := proxied(t, nil)
		tooMany := testes.ItemFault{Status: 429, Type: "es_rejected_execution_exception", Reason: "queue full"}
		p.RewriteNextBulk(map[int]testes.ItemFault{3: tooMany, 7: tooMany})
		be := batchError(t, o.Write(t.Context(), evs))
		if diff := gocmp.Diff([]int{3, 7}, indexes(be)); diff != "" {
			t.Fatalf("failed items (-want +got):\n%s", diff)
		}
		for _, it := range be.Items {
			if !it.Retryable || !strings.Contains(it.Reason, "es_rejected_execution_exception") {
				t.Errorf("item %+v: want retryable with the reason", it)
			}
		}
		// The caller re-sends only the failed items.
		retry := []event.Event{evs[3], evs[7]}
		if err := o.Write(t.Context(), retry); err != nil {
			t.Fatalf("retry Write: %v", err)
		}
		bodies := p.BulkBodies()
		if diff := gocmp.Diff(ids(retry), testes.BulkIDs(bodies[len(bodies)-1])); diff != "" {
			t.Errorf("re-sent ids (-want +got):\n%s", diff)
		}
		waitSearchable(t, o, outputs.Query{Limit: 100}, len(evs))
	})

	t.Run("409 item with the stored content counts as stored", func(t *testing.T) {
		t.Parallel()
		o, p, evs := proxied(t, nil)
		if err := o.Write(t.Context(), evs); err != nil {
			t.Fatalf("first Write = %v", err)
		}
		waitSearchable(t, o, outputs.Query{Limit: 100}, len(evs))
		p.RewriteNextBulk(map[int]testes.ItemFault{0: conflict, 6: conflict})
		if err := o.Write(t.Context(), evs); err != nil {
			t.Fatalf("Write again = %v, want nil", err)
		}
	})

	t.Run("409 item with other content under its id is rejected", func(t *testing.T) {
		t.Parallel()
		o, p, evs := proxied(t, nil)
		if err := o.Write(t.Context(), evs); err != nil {
			t.Fatalf("first Write = %v", err)
		}
		waitSearchable(t, o, outputs.Query{Limit: 100}, len(evs))
		again := slices.Clone(evs)
		again[2].Details = map[string]any{"seq": json.Number("999")} // same id, time, name, type, user
		again[5].Type = "delete_all"
		again[7].Time = again[7].Time.Add(time.Nanosecond) // below Elasticsearch's microseconds: the same
		p.RewriteNextBulk(map[int]testes.ItemFault{0: conflict, 2: conflict, 5: conflict, 7: conflict})
		be := batchError(t, o.Write(t.Context(), again))
		if diff := gocmp.Diff([]int{2, 5}, indexes(be)); diff != "" {
			t.Fatalf("rejected items (-want +got):\n%s", diff)
		}
		for _, it := range be.Items {
			if it.Retryable || !strings.Contains(it.Reason, "already stored with different content") {
				t.Errorf("item %+v: want not retryable, naming the reused id", it)
			}
		}
		if r := be.Items[1].Reason; !strings.Contains(r, `event_type "delete"`) || !strings.Contains(r, `event_type "delete_all"`) {
			t.Errorf("reason %q does not name both events", r)
		}
	})

	t.Run("400 item is rejected with the reason", func(t *testing.T) {
		t.Parallel()
		o, p, evs := proxied(t, nil)
		p.RewriteNextBulk(map[int]testes.ItemFault{5: {Status: 400, Type: "mapper_parsing_exception", Reason: "failed to parse field [details.user.seq]"}})
		be := batchError(t, o.Write(t.Context(), evs))
		if len(be.Items) != 1 || be.Items[0].Index != 5 || be.Items[0].Retryable {
			t.Fatalf("items %+v, want only 5, not retryable", be.Items)
		}
		if r := be.Items[0].Reason; !strings.Contains(r, "mapper_parsing_exception") || !strings.Contains(r, "failed to parse field") {
			t.Errorf("reason %q lacks the type and reason", r)
		}
	})
}

// conflict is the item answer of a create on an _id that is stored already.
var conflict = testes.ItemFault{Status: 409, Type: "version_conflict_engine_exception", Reason: "document already exists"}

func indexes(be *outputs.BatchError) []int {
	var out []int
	for _, it := range be.Items {
		out = append(out, it.Index)
	}
	return out
}

func TestWrite_RequestFaults(t *testing.T) {
	tests := []struct {
		name string
		arm  func(p *testes.FaultProxy)
	}{
		{"whole request 500", func(p *testes.FaultProxy) { p.FailBulk(1, http.StatusInternalServerError) }},
		{"whole request 429", func(p *testes.FaultProxy) { p.FailBulk(1, http.StatusTooManyRequests) }},
		{"connection dropped", func(p *testes.FaultProxy) { p.DropNext(1) }},
		{"request timeout", func(p *testes.FaultProxy) { p.Pause() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, p, evs := proxied(t, func(c *Config) { c.RequestTimeout = "2s" })
			tt.arm(p)
			err := o.Write(t.Context(), evs)
			if err == nil {
				t.Fatal("Write = nil, want an error")
			}
			if _, ok := errors.AsType[*outputs.BatchError](err); ok {
				t.Fatalf("Write = %v, want a plain error (whole batch retried)", err)
			}
			p.Resume()
			if err := o.Write(t.Context(), evs); err != nil {
				t.Fatalf("Write after the fault: %v", err)
			}
		})
	}

	t.Run("one of several requests fails", func(t *testing.T) {
		t.Parallel()
		o, p, evs := proxied(t, func(c *Config) { c.FlushEvents = 4; c.Concurrency = 1 })
		p.FailBulk(1, http.StatusServiceUnavailable)
		be := batchError(t, o.Write(t.Context(), evs))
		if diff := gocmp.Diff([]int{0, 1, 2, 3}, indexes(be)); diff != "" {
			t.Errorf("failed items (-want +got):\n%s", diff)
		}
		for _, it := range be.Items {
			if !it.Retryable {
				t.Errorf("item %+v: want retryable", it)
			}
		}
		var got []string
		for _, b := range p.BulkBodies() {
			n := testes.BulkIDs(b)
			if len(n) > 4 {
				t.Errorf("bulk request of %d items, flush_events is 4", len(n))
			}
			got = append(got, n...)
		}
		if diff := gocmp.Diff(ids(evs), got); diff != "" {
			t.Errorf("sent ids (-want +got):\n%s", diff)
		}
	})
}

func TestEncodeBatch_Split(t *testing.T) {
	t.Parallel()
	evs := makeEvents(50, time.Date(2026, 1, 31, 23, 59, 59, 990000000, time.UTC), 1)
	for _, tt := range []struct {
		name          string
		events, bytes int
	}{{"by events", 7, 1 << 20}, {"by bytes", 1000, 2000}, {"one event over flush_bytes", 1000, 10}} {
		t.Run(tt.name, func(t *testing.T) {
			reqs, idx, rejected := encodeBatch("p", evs, tt.events, tt.bytes)
			if len(rejected) != 0 || !slices.Equal(idx, []string{"p-2026.01", "p-2026.02"}) {
				t.Fatalf("indexes %q rejected %v", idx, rejected)
			}
			var all []int
			for _, r := range reqs {
				if len(r.items) > tt.events || (len(r.items) > 1 && len(r.body) > tt.bytes) {
					t.Errorf("request of %d items, %d bytes", len(r.items), len(r.body))
				}
				if got := testes.BulkIDs(r.body); len(got) != len(r.items) {
					t.Errorf("body has %d actions for %d items", len(got), len(r.items))
				}
				all = append(all, r.items...)
			}
			if len(all) != len(evs) || !slices.IsSorted(all) {
				t.Errorf("items %v, want 0..%d in order", all, len(evs)-1)
			}
		})
	}
}

func BenchmarkEncodeBatch(b *testing.B) {
	evs := makeEvents(1000, time.Date(2026, 11, 3, 12, 0, 0, 0, time.UTC), 1)
	reqs, _, _ := encodeBatch("audit-logs", evs, 1000, 5_000_000)
	b.SetBytes(int64(len(reqs[0].body)))
	b.ReportAllocs()
	for b.Loop() {
		encodeBatch("audit-logs", evs, 1000, 5_000_000)
	}
}

// zincBulkAnswer is a successful bulk answer of n items as ZincSearch
// writes it (Elasticsearch's is alike, with "create" and status 201).
func zincBulkAnswer(n int) []byte {
	b := []byte(`{"took":0,"errors":false,"items":[`)
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Appendf(b, `{"index":{"_index":"audit-logs-2026.11","_type":"_doc","_id":"%d","_version":1,"result":"created","status":200,"_shards":{"total":1,"successful":1,"failed":0},"_seq_no":%d,"_primary_term":1}}`, 4334897893530153844+i, 1000000+i)
	}
	return append(b, "]}"...)
}

func BenchmarkClassify(b *testing.B) {
	body := zincBulkAnswer(1000)
	items := make([]int, 1000)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := classify(body, items); err != nil {
			b.Fatal(err)
		}
	}
}

func TestSplitEvents(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ n, flush, conc, want int }{
		{1000, 1000, 2, 500},  // the agent's default batch: two requests in flight
		{1001, 1000, 2, 501},  // about equal halves
		{5000, 1000, 2, 1000}, // flush_events still bounds each request
		{150, 1000, 2, 100},   // parts of at least 100 events
		{10, 1000, 2, 100},    // a small batch stays one request
		{10, 5, 2, 5},         // ... unless flush_events is smaller
		{1000, 1000, 1, 1000}, // concurrency 1: no split
	} {
		if got := splitEvents(tt.n, tt.flush, tt.conc); got != tt.want {
			t.Errorf("splitEvents(%d, %d, %d) = %d, want %d", tt.n, tt.flush, tt.conc, got, tt.want)
		}
	}
}

func TestWrite_TooLarge(t *testing.T) {
	t.Run("a request over the body limit is sent in halves, later ones are smaller", func(t *testing.T) {
		t.Parallel()
		o, p, evs := proxied(t, func(c *Config) { c.Concurrency = 1 })
		whole, _, _ := encodeBatch(o.cfg.IndexPrefix, evs, 1000, 1<<20)
		limit := len(whole[0].body) / 3 // about three events
		p.LimitBody(limit)
		if err := o.Write(t.Context(), evs); err != nil {
			t.Fatalf("Write = %v, want nil", err)
		}
		var forwarded []string
		for _, b := range p.BulkBodies() {
			if len(b) <= limit {
				forwarded = append(forwarded, testes.BulkIDs(b)...)
			}
		}
		if diff := gocmp.Diff(ids(evs), forwarded); diff != "" {
			t.Errorf("ids forwarded under the limit (-want +got):\n%s", diff)
		}

		sent := len(p.BulkBodies())
		more := makeEvents(10, time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), 600)
		if err := o.Write(t.Context(), more); err != nil {
			t.Fatalf("second Write = %v, want nil", err)
		}
		later := p.BulkBodies()[sent:]
		for _, b := range later {
			if len(b) > limit {
				t.Errorf("request of %d bytes after a 413 at %d: the lowered limit was not kept", len(b), limit)
			}
		}
		if len(later) < 2 {
			t.Errorf("second batch went in %d requests, want several under the limit", len(later))
		}
		waitSearchable(t, o, outputs.Query{Limit: 100}, len(evs)+len(more))
	})

	t.Run("a limit learned on one part applies to the next at once", func(t *testing.T) {
		t.Parallel()
		o, p, _ := proxied(t, func(c *Config) { c.Concurrency = 1 })
		evs := makeEvents(200, time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC), 1000)
		whole, _, _ := encodeBatch(o.cfg.IndexPrefix, evs, 1000, 1<<20)
		limit := len(whole[0].body) / 60 // about three events
		p.LimitBody(limit)
		if err := o.Write(t.Context(), evs); err != nil {
			t.Fatalf("Write = %v, want nil", err)
		}
		refused := 0
		for _, b := range p.BulkBodies() {
			if len(b) > limit {
				refused++
			}
		}
		// Halving every refused part down to the limit would be refused
		// about 2 x 200/3 times; cutting the rest by the lowered limit,
		// about log2(60) times.
		if refused > 12 {
			t.Errorf("%d requests refused with 413 for one batch, want at most 12", refused)
		}
		waitSearchable(t, o, outputs.Query{Limit: 1000}, len(evs))
	})

	t.Run("an event too large alone is rejected, not retryable", func(t *testing.T) {
		t.Parallel()
		o, p, evs := proxied(t, nil)
		evs[4].Details = map[string]any{"blob": strings.Repeat("x", 4000)}
		p.LimitBody(3000)
		be := batchError(t, o.Write(t.Context(), evs))
		if len(be.Items) != 1 || be.Items[0].Index != 4 || be.Items[0].Retryable {
			t.Fatalf("items %+v, want only 4, not retryable", be.Items)
		}
		if r := be.Items[0].Reason; !strings.Contains(r, "HTTP 413") || !strings.Contains(r, "alone") {
			t.Errorf("reason %q does not say the event alone is too large", r)
		}
		waitSearchable(t, o, outputs.Query{Limit: 100}, len(evs)-1)
	})
}
