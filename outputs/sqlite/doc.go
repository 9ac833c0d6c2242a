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
// Schema version 4. Events are stored in blocks: one row of the table
// blocks holds up to 256 events of one source (input and file) stored by
// one Write, as a JSON array (events) beside their event_ids (ids, 8 bytes
// little-endian each), the least and greatest event_time (min_time,
// max_time, INTEGER nanoseconds since the Unix epoch, UTC, so sorting and
// range filters are exact), the source and stored_at, and keys: the
// distinct event_name, event_type and user_uid values of the block. A
// block costs one row and two index entries (min_time, max_time), where a
// row per event cost five B-tree entries per event (the row and four
// indexes): most of the store's CPU time. event_details are kept byte for
// byte as [event.MarshalDetails] writes them (numbers kept as written).
//
// The view events shows one row per event with the columns of earlier
// versions (event_id, event_time, event_name, event_type, event_details,
// user_uid, source_input, source_path, source_offset, stored_at) and
// location, for operators with the sqlite3 shell:
//
//	SELECT event_id, event_name, event_type FROM events WHERE user_uid = 7;
//
// [Store.Search] reads the blocks whose time range meets the query's in the
// order of their latest (or earliest) event_time, skips those whose keys
// hold no value of a filter, and stops at the first block that cannot hold
// an event before the limit-th found. id_state keeps the widest block's
// span, which bounds the index scan on both sides, so a page deep into the
// store costs what the first does. A search decodes whole blocks: about
// 1 ms each; a page of 100 usually decodes one or two.
//
// An event's location is its block's seq times 256 plus its index in the
// block. event_id is unique through id_chunks: sorted runs of (event_id,
// location) pairs, 240 to a row. The ids of the blocks stored after
// id_state's merged seq, up to 32,768, are kept in memory instead and
// written as a new run after the batch that reaches the limit; runs are
// kept in size tiers and eight runs of one tier are merged into one of the
// next, so each id is rewritten about log8(events/32,768) times. A merge is
// one transaction, which also moves id_state's merged seq. The ids in
// memory are read back from blocks by Open and brought up to date inside
// every write transaction (SQLite's write lock held), because another
// process may write to the same file: auditship query stores an audit
// event for each read.
//
// Before it looks ids up in id_chunks, Write asks a Bloom filter of the
// stored ids (register-blocked, about 1% false positives at capacity):
// most of a backfill's ids are new. Open builds it from id_chunks (16 bytes
// read per stored event), sized for twice the ids stored and at least a
// million (1.5 MiB); it is rebuilt twice as large when full, up to 8
// million ids (12 MiB), past which false positives grow. The ids another
// process stores are added by the sync; a sync that meets more than
// 131,072 of them drops the filter instead, and every id is looked up
// until the store is opened again.
//
// Events may be deleted by hand with the sqlite3 shell (a retention job):
// DELETE FROM events WHERE ... sets each event's element of its block to
// null (a trigger rewrites the block, about 0.4 ms per event, holding the
// write lock for the whole statement), and
// DELETE FROM blocks WHERE max_time < ... drops whole blocks at once, the
// way to delete many. An event_id whose event is gone counts as not
// stored, so reading its line again stores it again. blocks.seq is
// AUTOINCREMENT: a deleted block's seq is never used again, so a location
// in id_chunks never names another event.
//
// The schema version is kept in PRAGMA user_version and migrated by
// [Store.Open] in one transaction. Version 1 (rowid = event_id) becomes
// version 2 (a seq column in insertion order), version 3 adds the event_ids
// table, and version 4 copies the rows into blocks in seq order, holding
// 16 bytes per event in memory, and drops the version 3 tables.
//
// Cost: per event, its share of a block's JSON and row, a test of the
// filter, for about 1% a lookup in id_chunks (one query per batch), and its
// share of the merges. The writer connection keeps a 1 MB page cache and
// lets the WAL grow to 10,000 pages (about 40 MB) before checkpointing it.
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
