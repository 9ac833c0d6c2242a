// Package sqlite is the embedded default store of auditship: events go into
// one SQLite database file (modernc.org/sqlite, no cgo) and are read back for
// GET /audit-logs.
//
// # Configuration
//
//	output "sqlite" "local" {
//	  path         = "audit.db" # relative to the agent's data_dir
//	  busy_timeout = "5s"
//	}
//
// # Storage
//
// Three tables (schema version 3). events holds the events. Its rowid, seq,
// counts up in the order events are stored, so a batch is appended to the
// end of the table instead of being scattered over it (event_id is usually a
// 63-bit hash, see [event.DeriveID]). event_time is stored as INTEGER
// nanoseconds since the Unix epoch, UTC, so sorting and range filters are
// exact and no precision is lost; event_details is JSON text, byte for byte
// what [event.MarshalDetails] writes (numbers kept as written). The columns
// source_input, source_path and source_offset say where each event was read;
// they are for operators with the sqlite3 shell and are never returned by
// [Store.Search]. Indexes cover (event_time, event_id) and each filter
// (event_name, event_type, user_uid) followed by (event_time, event_id), so
// a search by one filter reads one index range in the order it returns.
//
// event_id is unique through event_ids (event_id, seq) and id_merge (seq).
// An index on events.event_id would take one insert at a random place per
// event, and with it one page written to the WAL per event and batch. So the
// ids of the events stored after id_merge's seq, up to 32,768, are kept in
// memory instead and merged into event_ids in one sorted run after the
// batch that reaches the limit: each page of event_ids is written once per
// run. The run's INSERTs are transactions of their own and id_merge is
// updated last; a run cut short by a crash is done again, skipping the ids
// already in event_ids. The ids in memory are read back from events by
// Open and brought up to date inside every write transaction (SQLite's
// write lock held), because another process may write to the same file:
// auditship query stores an audit event for each read. A run's pages grow
// with the table: past about 8 million events (32,768 times the ids per
// page) each id of a run lands on a page of its own, as with the index.
//
// Before it looks ids up in event_ids, Write asks a Bloom filter of the
// stored ids (github.com/bits-and-blooms/bloom/v3, 5% false positives at
// capacity): most of a backfill's ids are new and need no lookup. Open
// builds it from event_ids (about 0.3 s per million events), sized for
// twice the ids stored and at least a million (0.8 MiB); it is rebuilt twice
// as large when full, up to 8 million ids (6.2 MiB), past which false
// positives grow. The ids another process stores are added by the sync; a
// sync that meets more than 131,072 of them drops the filter instead, and
// every id is looked up until the store is opened again.
//
// Events may be deleted by hand (a retention job with the sqlite3 shell):
// an event_id whose row is gone counts as not stored, and ids merged for
// deleted rows are dropped when they are met.
//
// The schema version is kept in PRAGMA user_version and migrated by
// [Store.Open] in one transaction. Version 1 (rowid = event_id) is copied
// into the version 2 table in (event_time, event_id) order (about 3 s and a
// WAL as large as the new table for 140,000 events); version 2 to 3 copies
// the event ids into event_ids and drops the index on event_id.
//
// Cost: every event is one append to the table and to each of the four
// time-ordered indexes, a test of the filter, for about 5% a lookup of its
// event_id in event_ids (read only; one query per batch), and its share of
// a merge. A batch is inserted with a
// few multi-row INSERTs, prepared once, that leave seq to SQLite, so that
// SQLite keeps no statement journal. The writer connection keeps a 1 MB
// page cache and lets the WAL grow to 10,000 pages (about 40 MB)
// before checkpointing it, so that index pages written by several batches
// are copied into the database file once.
//
// # Durability
//
// The database runs in WAL mode with synchronous=FULL: every Write commits
// and fsyncs the WAL before it returns. The agent acknowledges file offsets
// as soon as Write returns nil, so a batch must survive kill -9 and power
// loss at that point; synchronous=NORMAL would only survive a process crash.
// The cost is one fsync per batch, which is why batches should be large (see
// the Write benchmark).
//
// Writes are idempotent: an event whose event_id is stored already (or
// earlier in the same batch) is not inserted again. Write compares the
// stored row with the event: the same content is a replay and counts as
// written; different content under a reused event_id is rejected (not
// retryable, so the agent dead-letters it) and the first stored version
// stays.
//
// The database file and its -wal and -shm files are created with mode 0600
// (Open also narrows existing ones): they hold audit data.
//
// # Concurrency
//
// Write is called by one goroutine at a time (the [outputs.Output] contract);
// Search may run concurrently with it and with itself, on a separate pool of
// read-only connections. Because of WAL, readers never block the writer and
// see the last committed batch. Another process, such as auditship query, can
// read the same file at the same time through [Store.OpenReadOnly].
package sqlite
