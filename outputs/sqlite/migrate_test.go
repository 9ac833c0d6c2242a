package sqlite

import (
	"database/sql"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
)

// v1DDL is the schema of version 1 exactly as auditship created it before
// version 2, kept here so that the test does not depend on migrations[0].
const v1DDL = `CREATE TABLE events (
		event_id      INTEGER PRIMARY KEY,
		event_time    INTEGER NOT NULL, -- nanoseconds since the Unix epoch, UTC
		event_name    TEXT    NOT NULL,
		event_type    TEXT    NOT NULL,
		event_details TEXT    NOT NULL, -- JSON object
		user_uid      INTEGER NOT NULL,
		source_input  TEXT    NOT NULL DEFAULT '',
		source_path   TEXT    NOT NULL DEFAULT '',
		source_offset INTEGER NOT NULL DEFAULT 0,
		stored_at     INTEGER NOT NULL  -- nanoseconds since the Unix epoch, UTC
	);
	CREATE INDEX events_time ON events (event_time, event_id);
	CREATE INDEX events_name_time ON events (event_name, event_time, event_id);
	CREATE INDEX events_type_time ON events (event_type, event_time, event_id);
	CREATE INDEX events_user_time ON events (user_uid, event_time, event_id);
	PRAGMA user_version = 1;`

// writeV1 creates a version 1 database at path holding evs, written as the
// version 1 store did (one INSERT per event, WAL mode).
func writeV1(t *testing.T, path string, evs []event.Event) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if _, err := db.Exec(v1DDL); err != nil {
		t.Fatalf("v1 DDL: %v", err)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		d, err := event.MarshalDetails(e.Details)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(`INSERT INTO events (event_id, event_time, event_name, event_type, event_details, user_uid,
			source_input, source_path, source_offset, stored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.Time.UnixNano(), e.Name, e.Type, string(d), e.UserUID, e.Source.Input, e.Source.Path, e.Source.Offset, 1); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func TestStore_MigratesV1(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	evs := makeEvents(500)
	// Ids out of time order, as derived ids are.
	for i := range evs {
		evs[i].ID = int64(uint64(i+1)*0x9E3779B97F4A7C15>>1) | 1
	}
	writeV1(t, filepath.Join(dir, DefaultConfig().Path), evs)

	// A read-only process refuses the old schema until the agent migrates.
	ro, err := New(DefaultConfig(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := ro.OpenReadOnly(t.Context()); err == nil {
		_ = ro.Close(t.Context())
		t.Fatal("OpenReadOnly of a version 1 database succeeded, want an error")
	}

	s := openStore(t, dir)
	var ver int
	if err := s.w.QueryRowContext(t.Context(), "PRAGMA user_version").Scan(&ver); err != nil || ver != schemaVersion {
		t.Fatalf("user_version after Open = %d (%v), want %d", ver, err, schemaVersion)
	}
	for _, o := range []outputs.Order{outputs.Asc, outputs.Desc} {
		got, err := s.Search(t.Context(), outputs.Query{Limit: 1000, Order: o})
		if err != nil {
			t.Fatalf("Search: %v", err)
		}
		if diff := cmp.Diff(sorted(evs, o), got); diff != "" {
			t.Errorf("events after migration, order %d (-want +got):\n%s", o, diff)
		}
	}
	// The source columns came along.
	var input, path string
	var offset int64
	if err := s.w.QueryRowContext(t.Context(), "SELECT source_input, source_path, source_offset FROM events WHERE event_id = ?", evs[7].ID).
		Scan(&input, &path, &offset); err != nil {
		t.Fatal(err)
	}
	if input != evs[7].Source.Input || path != evs[7].Source.Path || offset != evs[7].Source.Offset {
		t.Errorf("source of event 7 = %q %q %d, want %+v", input, path, offset, evs[7].Source)
	}

	// Migrated ids still deduplicate: a replay is written, a reuse rejected.
	reuse := evs[3]
	reuse.Type = "other"
	err = s.Write(t.Context(), []event.Event{evs[2], reuse, makeEvents(1)[0]})
	be, ok := errors.AsType[*outputs.BatchError](err)
	if !ok || len(be.Items) != 1 || be.Items[0].Index != 1 {
		t.Fatalf("Write after migration error = %v, want a BatchError for index 1", err)
	}
	got, err := s.Search(t.Context(), outputs.Query{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(evs)+1 {
		t.Errorf("%d events after writing to the migrated store, want %d", len(got), len(evs)+1)
	}
}

// TestStore_WriteDuplicatesAcrossStatements checks the conflict bookkeeping
// of a batch larger than one block: duplicates of an event_id within the
// batch, in another block than the first occurrence, and a bad event
// before them.
func TestStore_WriteDuplicatesAcrossStatements(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir())
	evs := makeEvents(blockEvents + 80) // blocks of blockEvents and 80 events
	evs[5].Time = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	evs[blockEvents+20] = evs[10]
	evs[blockEvents+20].Type = "reused"
	evs[blockEvents+40] = evs[20] // the same event twice: a replay
	evs[blockEvents+79] = evs[blockEvents+78]
	err := s.Write(t.Context(), evs)
	be, ok := errors.AsType[*outputs.BatchError](err)
	if !ok {
		t.Fatalf("Write error = %v, want *outputs.BatchError", err)
	}
	var idx []int
	for _, it := range be.Items {
		if it.Retryable {
			t.Errorf("item %d retryable, want not", it.Index)
		}
		idx = append(idx, it.Index)
	}
	if diff := cmp.Diff([]int{5, blockEvents + 20}, idx); diff != "" {
		t.Errorf("BatchError indexes (-want +got):\n%s", diff)
	}
	got, err := s.Search(t.Context(), outputs.Query{Limit: 2 * blockEvents, Order: outputs.Asc})
	if err != nil {
		t.Fatal(err)
	}
	var want []event.Event
	for i, e := range evs {
		if i != 5 && i != blockEvents+20 && i != blockEvents+40 && i != blockEvents+79 {
			want = append(want, e)
		}
	}
	if diff := cmp.Diff(sorted(want, outputs.Asc), got); diff != "" {
		t.Errorf("stored events (-want +got):\n%s", diff)
	}
}

// TestStore_OpensV4WithoutSpan opens a version 4 store written before
// id_state.span existed: the column is added, unbounded.
func TestStore_OpensV4WithoutSpan(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openStore(t, dir)
	evs := makeEvents(10)
	if err := s.Write(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	execSQL(t, dir, "ALTER TABLE id_state DROP COLUMN span")
	if err := s.Open(t.Context()); err != nil {
		t.Fatalf("Open of a store without id_state.span: %v", err)
	}
	got, err := s.Search(t.Context(), outputs.Query{Limit: 100, Order: outputs.Asc, After: &outputs.Cursor{Time: evs[2].Time, ID: evs[2].ID}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sorted(evs, outputs.Asc)[3:], got); diff != "" {
		t.Errorf("events after the cursor (-want +got):\n%s", diff)
	}
}
