package elasticsearch

import (
	"fmt"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/internal/testes"
	"github.com/auditship/auditship/outputs"
)

// TestWrite_DetailsTypeClash writes events whose details field holds first
// a date-like string and later other strings and numbers, in one batch and
// across batches. ZincSearch maps the field as a date from the first value
// and then fails whole bulk requests; every event must still be stored
// whole, and Write must not keep failing.
func TestWrite_DetailsTypeClash(t *testing.T) {
	t.Parallel()
	baseURL := testes.URL(t)
	o := openOutput(t, testConfig(t, baseURL, testes.IndexPrefix(t, baseURL)))
	start := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	values := []any{"2026-11-28T09:06:19", "soon", "2026-11-28 09:06:19", "next week", "12", "2026-11-28T09:06:19+00:00"}
	var evs []event.Event
	for i := range 24 {
		evs = append(evs, event.Event{
			ID: int64(7000 + i), Time: start.Add(time.Duration(i) * time.Second),
			Name: "api_key", Type: "create", UserUID: 1,
			Details: map[string]any{"expires": values[i%len(values)], "n": fmt.Sprint(i)},
		})
	}
	if err := o.Write(t.Context(), evs[:12]); err != nil {
		t.Fatalf("Write of the first batch: %v", err)
	}
	if err := o.Write(t.Context(), evs[12:]); err != nil {
		t.Fatalf("Write of the second batch: %v", err)
	}
	q := outputs.Query{Limit: 100, Order: outputs.Asc}
	waitSearchable(t, o, q, len(evs))
	got, err := o.Search(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(sorted(want(t, evs), outputs.Asc), got); diff != "" {
		t.Errorf("stored events (-want +got):\n%s", diff)
	}
}
