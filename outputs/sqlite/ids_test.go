package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
)

// TestStore_IDsAcrossMerges checks that an event_id stays unique wherever the
// stored one is: pending in memory, merged into event_ids, pending when the
// store was closed, and when event_ids already holds ids that id_merge does
// not count.
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
	evs := makeEvents(17)
	s := open()
	// Batches of 3: merges after the 2nd and 4th, 2 events pending after.
	for i := 0; i < 12; i += 3 {
		if err := s.Write(t.Context(), evs[i:i+3]); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
	}
	if err := s.Write(t.Context(), evs[12:14]); err != nil {
		t.Fatal(err)
	}
	if s.mergedSeq != 12 || len(s.pending) != 2 {
		t.Fatalf("merged seq %d with %d pending, want 12 and 2", s.mergedSeq, len(s.pending))
	}
	checkIDs(t, s, evs[:14], evs[:14])

	// Reopened, the pending ids are read back from events.
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	s = open()
	if s.mergedSeq != 12 || len(s.pending) != 2 {
		t.Fatalf("after reopen: merged seq %d with %d pending, want 12 and 2", s.mergedSeq, len(s.pending))
	}
	checkIDs(t, s, evs[:14], evs[:14])
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}

	// event_ids holds the pending ids already, id_merge does not say so:
	// the next merge skips them.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, DefaultConfig().Path))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("INSERT INTO event_ids (event_id, seq) SELECT event_id, seq FROM events WHERE seq > (SELECT seq FROM id_merge)"); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s = open()
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	if err := s.Write(t.Context(), evs[14:17]); err != nil { // 5 pending: merges again
		t.Fatalf("Write with ids merged twice: %v", err)
	}
	if s.mergedSeq != 17 || len(s.pending) != 0 {
		t.Fatalf("merged seq %d with %d pending, want 17 and 0", s.mergedSeq, len(s.pending))
	}
	checkIDs(t, s, evs, evs)
}

// checkIDs writes to s, which holds stored, replays and reuses of a merged
// and of a pending event_id of probe (a prefix of stored, at least 6 long),
// then checks that only the reuses are rejected, that s holds stored and
// nothing else, that every row of event_ids points at the row of its event
// and that every event up to id_merge's seq has one.
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
	var merged, matching, missing int64
	if err := s.w.QueryRowContext(t.Context(), "SELECT count(*) FROM event_ids").Scan(&merged); err != nil {
		t.Fatal(err)
	}
	if err := s.w.QueryRowContext(t.Context(),
		"SELECT count(*) FROM event_ids i JOIN events e ON e.seq = i.seq AND e.event_id = i.event_id").Scan(&matching); err != nil {
		t.Fatal(err)
	}
	if err := s.w.QueryRowContext(t.Context(), `SELECT count(*) FROM events e WHERE e.seq <= (SELECT seq FROM id_merge)
		AND NOT EXISTS (SELECT 1 FROM event_ids i WHERE i.event_id = e.event_id AND i.seq = e.seq)`).Scan(&missing); err != nil {
		t.Fatal(err)
	}
	if matching != merged || missing != 0 {
		t.Errorf("event_ids has %d rows, %d pointing at their event; %d merged events not in it", merged, matching, missing)
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
	for i, s := range st {
		if err := s.Write(t.Context(), evs[:1]); err != nil { // syncs s
			t.Fatal(err)
		}
		if s.nextSeq != int64(len(evs))+1 {
			t.Errorf("writer %d: next seq %d, want %d", i, s.nextSeq, len(evs)+1)
		}
	}
}

// TestStore_EventsDeletedByHand checks that events deleted with the sqlite3
// shell (a retention job, say), newest ones included, do not stall the
// store or make it store an event twice: a deleted event written again is
// stored again, and events that take the seqs of deleted ones are found.
func TestStore_EventsDeletedByHand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openWriter(t, dir, func(s *Store) { s.mergeEvery = 4 })
	evs := makeEvents(30)
	for i := 0; i < 15; i += 3 { // merged up to seq 12, 13 to 15 pending
		if err := s.Write(t.Context(), evs[i:i+3]); err != nil {
			t.Fatal(err)
		}
	}
	s.mergeEvery = 100 // no more merges until the restart below
	// Another connection deletes seq 2 and everything after seq 8, while
	// the store is open.
	deleteEvents(t, dir, "seq = 2 OR seq > 8")
	// New events take seqs 9 to 13, of which 9 to 12 were merged for
	// deleted events.
	if err := s.Write(t.Context(), evs[15:20]); err != nil {
		t.Fatalf("Write after the delete: %v", err)
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
	deleteEvents(t, dir, "event_id > 10")
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

// deleteEvents deletes the events matching where from the store in dir, as
// the sqlite3 shell would.
func deleteEvents(t *testing.T, dir, where string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, DefaultConfig().Path))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if _, err := db.Exec("DELETE FROM events WHERE " + where); err != nil {
		t.Fatal(err)
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
