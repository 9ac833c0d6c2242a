package sqlite

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
)

// TestStore_SearchMatchesReference stores events of three sources whose
// times overlap (one file read from its start while others are followed),
// with many ties on event_time, in batches that mix the sources, so blocks
// overlap in time, and one block spans the whole range of event_time; then
// checks many random queries, and paging through
// each with cursors, against a filter-and-sort of all events.
func TestStore_SearchMatchesReference(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir())
	r := rand.New(rand.NewPCG(7, 8))
	names := []string{"user", "dataset", "api_key", "a,b", "x\x1fy", "7"}
	types := []string{"create", "delete", "login"}
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var all []event.Event
	id := int64(0)
	for batch := range 6 {
		var evs []event.Event
		for range 150 + r.IntN(150) {
			src := r.IntN(3)
			id++
			// Source 0 is a backfill of old lines; 1 and 2 are current.
			at := base.Add(time.Duration(batch*100+r.IntN(300)) * time.Second)
			if src == 0 {
				at = base.Add(-time.Duration(r.IntN(50)) * time.Hour)
			}
			evs = append(evs, event.Event{
				ID:      int64(r.Uint64()>>1) | 1,
				Time:    at.Truncate(10 * time.Second), // ties
				Name:    names[r.IntN(len(names))],
				Type:    types[r.IntN(len(types))],
				UserUID: int64(r.IntN(6)),
				Details: map[string]any{"n": json.Number(strconv.FormatInt(id, 10))},
				Source:  event.Position{Input: "in", Path: fmt.Sprintf("/log/%d", src), Offset: id},
			})
		}
		if batch == 2 {
			// A block as wide as the int64 range: the scans' bounds
			// overflow (SQLite computes them as REAL).
			for _, at := range []time.Time{minTime, maxTime} {
				id++
				evs = append(evs, event.Event{ID: id<<40 | 3, Time: at, Name: "user", Type: "login", Details: map[string]any{},
					Source: event.Position{Input: "in", Path: "/log/wide", Offset: id}})
			}
		}
		if err := s.Write(t.Context(), evs); err != nil {
			t.Fatal(err)
		}
		all = append(all, evs...)
	}
	byOrder := map[outputs.Order][]event.Event{outputs.Asc: sorted(all, outputs.Asc), outputs.Desc: sorted(all, outputs.Desc)}
	ref := func(q outputs.Query) []event.Event {
		out := []event.Event{}
		for _, e := range byOrder[q.Order] {
			if len(q.Names) > 0 && !slices.Contains(q.Names, e.Name) ||
				len(q.Types) > 0 && !slices.Contains(q.Types, e.Type) ||
				len(q.UserUIDs) > 0 && !slices.Contains(q.UserUIDs, e.UserUID) ||
				!q.Start.IsZero() && e.Time.Before(q.Start) ||
				!q.End.IsZero() && !e.Time.Before(q.End) {
				continue
			}
			if a := q.After; a != nil {
				c := e.Time.Compare(a.Time)
				if c == 0 {
					c = cmpInt(e.ID, a.ID)
				}
				if q.Order == outputs.Asc && c <= 0 || q.Order == outputs.Desc && c >= 0 {
					continue
				}
			}
			out = append(out, e)
			if len(out) == q.Limit {
				break
			}
		}
		return out
	}
	pick := func(n int) []int { // a few distinct indexes below n, maybe none
		var out []int
		for i := range n {
			if r.IntN(n) == 0 {
				out = append(out, i)
			}
		}
		return out
	}
	for k := range 40 {
		q := outputs.Query{Limit: 1 + r.IntN(400)}
		if k%2 == 0 {
			q.Order = outputs.Desc
		} else {
			q.Order = outputs.Asc
		}
		for _, i := range pick(len(names)) {
			q.Names = append(q.Names, names[i])
		}
		for _, i := range pick(len(types)) {
			q.Types = append(q.Types, types[i])
		}
		for _, i := range pick(6) {
			q.UserUIDs = append(q.UserUIDs, int64(i))
		}
		if r.IntN(3) == 0 {
			q.Start = base.Add(time.Duration(r.IntN(1200)-600) * time.Second)
		}
		if r.IntN(3) == 0 {
			q.End = base.Add(time.Duration(r.IntN(1200)) * time.Second)
		}
		// Page through with cursors, as the API does.
		for page := 0; page < 50; page++ {
			want := ref(q)
			got, err := s.Search(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			// Whole events on the first page, event_ids after (cmp is slow).
			if page == 0 {
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("query %d page %d %+v (-want +got):\n%s", k, page, q, diff)
				}
			} else if diff := cmp.Diff(ids(want), ids(got)); diff != "" {
				t.Fatalf("query %d page %d %+v: event_ids (-want +got):\n%s", k, page, q, diff)
			}
			if len(got) < q.Limit {
				break
			}
			last := got[len(got)-1]
			q.After = &outputs.Cursor{Time: last.Time, ID: last.ID}
		}
	}
}

func ids(evs []event.Event) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.ID
	}
	return out
}
