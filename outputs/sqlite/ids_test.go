package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
)

// TestStore_IDsAcrossMerges checks that an event_id stays unique wherever the
// stored one is: pending in memory, merged into id_chunks (runs merged with
// each other as they pile up), and pending when the store was closed.
func TestStore_IDsAcrossMerges(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	open := func() *Store {
		t.Helper()
		s, err := New(DefaultConfig(), dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Open(t.Context()); err != nil {
			t.Fatalf("Open: %v", err)
		}
		s.mergeEvery = 4
		return s
	}
	evs := makeEvents(60)
	s := open()
	// Batches of 3, one block each: merges after the 2nd and 4th, 2 events
	// pending after.
	for i := 0; i < 12; i += 3 {
		if err := s.Write(t.Context(), evs[i:i+3]); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
	}
	if err := s.Write(t.Context(), evs[12:14]); err != nil {
		t.Fatal(err)
	}
	if s.merged != 4 || len(s.pending) != 2 {
		t.Fatalf("merged up to block %d with %d pending, want 4 and 2", s.merged, len(s.pending))
	}
	checkIDs(t, s, evs[:14], evs[:14])

	// Reopened, the pending ids are read back from blocks.
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	s = open()
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	if s.merged != 4 || len(s.pending) != 2 {
		t.Fatalf("after reopen: merged up to block %d with %d pending, want 4 and 2", s.merged, len(s.pending))
	}
	checkIDs(t, s, evs[:14], evs[:14])

	// Many merges: runs are merged with each other, so few remain, and
	// every id is still found.
	for i := 14; i < 60; i += 2 {
		if err := s.Write(t.Context(), evs[i:i+2]); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
	}
	perTier := map[int]int{}
	for _, r := range s.runs {
		perTier[tier(r.n, s.mergeEvery)]++
	}
	if perTier[1] == 0 || perTier[0] >= mergeFanIn || perTier[1] >= mergeFanIn {
		t.Errorf("id runs per size tier %v after 60 events merged 4 at a time, want some of tier 1 and fewer than %d per tier", perTier, mergeFanIn)
	}
	checkIDs(t, s, evs, evs)
	checkIDs(t, s, evs, evs[:8])
}

// checkIDs writes to s, which holds stored, replays and reuses of a merged
// and of a pending event_id of probe (a prefix of stored, at least 6 long),
// then checks that only the reuses are rejected, that s holds stored and
// nothing else, that every entry of id_chunks whose event is still there
// names its event and that every event of a merged block has an entry.
func checkIDs(t *testing.T, s *Store, stored, probe []event.Event) {
	t.Helper()
	reuse := func(e event.Event) event.Event {
		e.Type = "reused"
		return e
	}
	last := len(probe) - 1
	batch := []event.Event{probe[1], reuse(probe[4]), probe[last], reuse(probe[last-1])}
	err := s.Write(t.Context(), batch)
	be, ok := errors.AsType[*outputs.BatchError](err)
	if !ok {
		t.Fatalf("Write error = %v, want *outputs.BatchError", err)
	}
	var idx []int
	for _, it := range be.Items {
		idx = append(idx, it.Index)
	}
	if diff := cmp.Diff([]int{1, 3}, idx); diff != "" {
		t.Errorf("rejected indexes (-want +got):\n%s", diff)
	}
	got, err := s.Search(t.Context(), outputs.Query{Limit: len(stored) + 10, Order: outputs.Asc})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sorted(stored, outputs.Asc), got); diff != "" {
		t.Errorf("stored events (-want +got):\n%s", diff)
	}

	// id_chunks against the events view.
	ctx := t.Context()
	var notText int
	if err := s.w.QueryRowContext(ctx, "SELECT count(*) FROM blocks WHERE typeof(events) != 'text'").Scan(&notText); err != nil || notText != 0 {
		t.Errorf("%d blocks whose events are not text (%v), want 0", notText, err)
	}
	at := map[int64]int64{} // location → event_id of every event stored
	rows, err := s.w.QueryContext(ctx, "SELECT location, event_id FROM events")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var l, id int64
		if err := rows.Scan(&l, &id); err != nil {
			t.Fatal(err)
		}
		at[l] = id
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	_ = rows.Close()
	var merged int64
	if err := s.w.QueryRowContext(ctx, "SELECT merged FROM id_state").Scan(&merged); err != nil {
		t.Fatal(err)
	}
	runs, err := readRuns(ctx, s.w)
	if err != nil {
		t.Fatal(err)
	}
	entries := map[int64]int64{} // location → event_id
	for _, r := range runs {
		es, err := readRun(ctx, s.w, r.run, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != r.n {
			t.Errorf("run %d: %d entries, its chunks say %d", r.run, len(es), r.n)
		}
		for i, e := range es {
			if i > 0 && compareEntries(es[i-1], e) > 0 {
				t.Fatalf("run %d not sorted at entry %d", r.run, i)
			}
			if id, ok := at[e.loc]; ok && id != e.id {
				t.Errorf("entry of event_id %d points at location %d, which holds event_id %d", e.id, e.loc, id)
			}
			entries[e.loc] = e.id
		}
	}
	for l, id := range at {
		if locSeq(l) <= merged && entries[l] != id {
			t.Errorf("event_id %d at location %d of a merged block has no entry in id_chunks", id, l)
		}
	}
}

// TestStore_TwoWriters checks two Stores writing to one file, as the agent
// and auditship query (which stores the audit events of its reads) do: each
// sees the other's events as stored, pending or merged by either.
func TestStore_TwoWriters(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var st [2]*Store
	for i := range st {
		st[i] = openWriter(t, dir, func(s *Store) { s.mergeEvery = 5 + i })
	}
	evs := makeEvents(60)
	for k := 0; k*3 < len(evs); k++ {
		w, other := st[k%2], st[(k+1)%2]
		if err := w.Write(t.Context(), evs[k*3:k*3+3]); err != nil {
			t.Fatalf("batch %d: %v", k, err)
		}
		// The other writer replays and reuses what was just written and
		// what was written a few merges ago.
		if k >= 1 {
			checkIDs(t, other, evs[:k*3+3], evs[:k*3+3])
		}
		if k >= 6 {
			checkIDs(t, w, evs[:k*3+3], evs[:k*3-12])
		}
	}
	var maxSeq int64
	if err := st[0].w.QueryRowContext(t.Context(), "SELECT max(seq) FROM blocks").Scan(&maxSeq); err != nil {
		t.Fatal(err)
	}
	for i, s := range st {
		if err := s.Write(t.Context(), evs[:1]); err != nil { // syncs s
			t.Fatal(err)
		}
		if s.lastSeq != maxSeq {
			t.Errorf("writer %d: last block read %d, want %d", i, s.lastSeq, maxSeq)
		}
	}
}

// TestStore_EventsDeletedByHand checks that events deleted with the sqlite3
// shell (a retention job, say), through the events view or as whole blocks,
// newest ones included, do not stall the store or make it store an event
// twice: a deleted event written again is stored again.
func TestStore_EventsDeletedByHand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openWriter(t, dir, func(s *Store) { s.mergeEvery = 4 })
	evs := makeEvents(30)
	for i := 0; i < 15; i += 3 { // blocks 1 to 5; merged up to block 4, block 5 pending
		if err := s.Write(t.Context(), evs[i:i+3]); err != nil {
			t.Fatal(err)
		}
	}
	s.mergeEvery = 100 // no more merges until the restart below
	// Another connection deletes event 2 (merged) and 14 (pending) through
	// the view, and blocks 3 and 5, while the store is open.
	execSQL(t, dir, "DELETE FROM events WHERE event_id IN (2, 14)")
	execSQL(t, dir, "DELETE FROM blocks WHERE seq IN (3, 5)")
	if err := s.Write(t.Context(), evs[15:20]); err != nil {
		t.Fatalf("Write after the delete: %v", err)
	}
	got, err := s.Search(t.Context(), outputs.Query{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 20-7 { // 2, 7 to 9 and 13 to 15
		t.Errorf("%d events after deleting 7, want 13", len(got))
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.mergeEvery = 100
	// Everything written again: the deleted ones are stored anew, the rest
	// are replays.
	if err := s.Write(t.Context(), evs[:20]); err != nil {
		t.Fatalf("Write of all again: %v", err)
	}
	checkIDs(t, s, evs[:20], evs[:20])

	// The same after a restart, with more deleted and written again.
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	execSQL(t, dir, "DELETE FROM events WHERE event_id > 10")
	execSQL(t, dir, "DELETE FROM blocks WHERE seq = (SELECT max(seq) FROM blocks)")
	if err := s.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.mergeEvery = 4
	for i := 0; i < 30; i += 5 {
		if err := s.Write(t.Context(), evs[i:i+5]); err != nil {
			t.Fatalf("Write %d after reopen: %v", i, err)
		}
	}
	checkIDs(t, s, evs, evs)
}

// execSQL runs stmt on the store in dir, as the sqlite3 shell would.
func execSQL(t *testing.T, dir, stmt string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, DefaultConfig().Path))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}

// openWriter opens a Store on the default file in dir after setup (which may
// be nil) has set its fields, and closes it at the end of the test.
func openWriter(t *testing.T, dir string, setup func(*Store)) *Store {
	t.Helper()
	s, err := New(DefaultConfig(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if setup != nil {
		setup(s)
	}
	if err := s.Open(t.Context()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	return s
}

// TestSortByID checks the radix sort of a merge against slices.SortFunc
// over ids of every shape a store meets: random 63-bit hashes, the
// platform's sequential ids (high bytes shared), negative ids, both ends of
// the int64 range, and runs of one and two entries.
func TestSortByID(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct {
		name string
		ids  func(i int) int64
		n    int
	}{
		{"hashes", func(int) int64 { return int64(r.Uint64() >> 1) }, 5000},
		{"sequential", func(i int) int64 { return 900000 + int64(i)*7 }, 5000},
		{"signed", func(int) int64 { return int64(r.Uint64()) }, 5000},
		{"ends", func(i int) int64 { return []int64{math.MinInt64, math.MaxInt64, 0, -1, 1}[i] }, 5},
		{"one", func(int) int64 { return 42 }, 1},
		{"two", func(i int) int64 { return int64(1 - i) }, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seen := map[int64]bool{}
			var entries []idEntry
			for i := 0; len(entries) < tc.n; i++ {
				id := tc.ids(i)
				if !seen[id] {
					seen[id] = true
					entries = append(entries, idEntry{id, int64(i)})
				}
			}
			r.Shuffle(len(entries), func(i, j int) { entries[i], entries[j] = entries[j], entries[i] })
			want := slices.Clone(entries)
			slices.SortFunc(want, compareEntries)
			got := sortByID(slices.Clone(entries), make([]idEntry, len(entries)))
			if !slices.Equal(got, want) {
				t.Fatalf("sortByID differs from slices.SortFunc over %d entries", len(entries))
			}
		})
	}
}
