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
// One table, events (schema version 2). Its rowid, seq, counts up in the order
// events are stored, so a batch is appended to the end of the table instead
// of being scattered over it (event_id is usually a 63-bit hash, see
// [event.DeriveID]); event_id is unique through the index events_id, whose
// entries are small. event_time is stored as INTEGER nanoseconds since the
// Unix epoch, UTC, so sorting and range filters are exact and no precision
// is lost; event_details is JSON text, byte for byte what
// [event.MarshalDetails] writes (numbers kept as written). The columns
// source_input, source_path and source_offset say where each event was read;
// they are for operators with the sqlite3 shell and are never returned by
// [Store.Search]. Indexes cover (event_time, event_id) and each filter
// (event_name, event_type, user_uid) followed by (event_time, event_id), so
// a search by one filter reads one index range in the order it returns. The schema
// version is kept in PRAGMA user_version and migrated by [Store.Open] in one
// transaction; version 1 (rowid = event_id) is copied into the version 2
// table in (event_time, event_id) order (about 3 s and a WAL as large as the
// new table for 140,000 events).
//
// Cost: every event is one append to the table, one to each of the four
// time-ordered indexes and one insert at a random place in events_id. A
// batch is inserted with a few multi-row INSERT ... ON CONFLICT(event_id) DO
// NOTHING RETURNING event_id statements, prepared once; the ids not returned
// are the conflicts. The writer connection keeps a 2 MB page cache and lets
// the WAL grow to 10,000 pages (about 40 MB) before checkpointing it, so that
// index pages written by several batches are copied into the database file
// once.
//
// # Durability
//
// The database runs in WAL mode with synchronous=FULL: every Write is one
// transaction and its commit fsyncs the WAL before Write returns. The agent
// acknowledges file offsets as soon as Write returns nil, so a batch must
// survive kill -9 and power loss at that point; synchronous=NORMAL would only
// survive a process crash. The cost is one fsync per batch, which is why
// batches should be large (see the Write benchmark).
//
// Writes are idempotent: INSERT ... ON CONFLICT(event_id) DO NOTHING, so a
// batch replayed after a crash stores nothing twice. When the insert changes
// nothing, Write compares the stored row with the event: the same content is
// a replay and counts as written; different content under a reused event_id
// is rejected (not retryable, so the agent dead-letters it) and the first
// stored version stays.
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
