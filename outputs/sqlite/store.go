package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// schemaVersion is the PRAGMA user_version this code writes and reads.
const schemaVersion = 4

// migrations[i] moves a database from user_version i to i+1. A new database
// runs them all.
var migrations = []string{
	// Version 1: the table's rowid was event_id.
	`CREATE TABLE events (
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
	CREATE INDEX events_user_time ON events (user_uid, event_time, event_id);`,

	// Version 2: the rowid (seq) follows insertion order, so rows are
	// appended to the table instead of landing on a random page (event_id
	// is a hash), and event_id is unique through a small index. Existing
	// rows are copied in (event_time, event_id) order.
	`CREATE TABLE events_v2 (
		seq           INTEGER PRIMARY KEY, -- insertion order
		event_id      INTEGER NOT NULL ON CONFLICT FAIL,
		event_time    INTEGER NOT NULL ON CONFLICT FAIL, -- nanoseconds since the Unix epoch, UTC
		event_name    TEXT    NOT NULL ON CONFLICT FAIL,
		event_type    TEXT    NOT NULL ON CONFLICT FAIL,
		event_details TEXT    NOT NULL ON CONFLICT FAIL, -- JSON object
		user_uid      INTEGER NOT NULL ON CONFLICT FAIL,
		source_input  TEXT    NOT NULL ON CONFLICT FAIL DEFAULT '',
		source_path   TEXT    NOT NULL ON CONFLICT FAIL DEFAULT '',
		source_offset INTEGER NOT NULL ON CONFLICT FAIL DEFAULT 0,
		stored_at     INTEGER NOT NULL ON CONFLICT FAIL -- nanoseconds since the Unix epoch, UTC
	);
	INSERT INTO events_v2 (event_id, event_time, event_name, event_type, event_details, user_uid,
		source_input, source_path, source_offset, stored_at)
		SELECT event_id, event_time, event_name, event_type, event_details, user_uid,
			source_input, source_path, source_offset, stored_at
		FROM events ORDER BY event_time, event_id;
	DROP TABLE events;
	ALTER TABLE events_v2 RENAME TO events;
	CREATE UNIQUE INDEX events_id ON events (event_id);
	CREATE INDEX events_time ON events (event_time, event_id);
	CREATE INDEX events_name_time ON events (event_name, event_time, event_id);
	CREATE INDEX events_type_time ON events (event_type, event_time, event_id);
	CREATE INDEX events_user_time ON events (user_uid, event_time, event_id);`,

	// Version 3: event_id is unique through the table event_ids, written in
	// sorted runs (see Store.merge) instead of one random index insert per
	// event. id_merge holds the last seq whose event_id is in event_ids.
	`CREATE TABLE event_ids (
		event_id INTEGER PRIMARY KEY,
		seq      INTEGER NOT NULL -- the event's row in events
	) WITHOUT ROWID;
	INSERT INTO event_ids (event_id, seq) SELECT event_id, seq FROM events ORDER BY event_id;
	DROP INDEX events_id;
	CREATE TABLE id_merge (seq INTEGER NOT NULL);
	INSERT INTO id_merge (seq) SELECT coalesce(max(seq), 0) FROM events;`,

	// Version 4: events are stored in blocks of up to 256 (one row and a
	// few keys per block instead of five B-tree entries per event), and
	// event_id is unique through sorted runs of id_chunks. The rows of
	// version 3 are copied into blocks by migrateV4 between v4Create and
	// v4Drop.
	"",
}

// v4Create creates the tables of version 4. blocks.seq is AUTOINCREMENT so
// that a block deleted by hand never gives its seq, and with it the
// locations in id_chunks, to another block.
const v4Create = `CREATE TABLE blocks (
		seq          INTEGER PRIMARY KEY AUTOINCREMENT,
		min_time     INTEGER NOT NULL, -- least event_time, nanoseconds since the Unix epoch, UTC
		max_time     INTEGER NOT NULL, -- greatest event_time
		source_input TEXT    NOT NULL, -- the input and file every event of the block was read by and from
		source_path  TEXT    NOT NULL,
		stored_at    INTEGER NOT NULL, -- nanoseconds since the Unix epoch, UTC
		keys         TEXT    NOT NULL, -- the distinct event_name, event_type and user_uid values, see appendKey
		ids          BLOB    NOT NULL, -- the event_ids, 8 bytes little-endian each, in the order of events
		events       TEXT    NOT NULL  -- JSON array of events (null where deleted through the events view)
	);
	CREATE INDEX blocks_max_time ON blocks (max_time);
	CREATE INDEX blocks_min_time ON blocks (min_time);
	CREATE TABLE id_chunks (
		chunk   INTEGER PRIMARY KEY,
		run     INTEGER NOT NULL,
		first   INTEGER NOT NULL, -- the least event_id in entries
		entries BLOB    NOT NULL  -- (event_id, location) pairs, 8 bytes little-endian each, sorted
	);
	CREATE TABLE id_state (
		merged  INTEGER NOT NULL, -- the ids of blocks up to this seq are in id_chunks
		version INTEGER NOT NULL, -- counts the changes of id_chunks
		span    INTEGER NOT NULL  -- at least the greatest max_time - min_time of a block
	);`

// v4Drop drops the tables of version 3 and creates the events view, one
// row per event as version 3 had, for the sqlite3 shell. Deleting from the
// view sets the event's element of its block to null (a retention job that
// deletes many events should delete blocks instead: see the package doc).
const v4Drop = `DROP TABLE events;
	DROP TABLE event_ids;
	DROP TABLE id_merge;
	CREATE VIEW events AS
		SELECT b.seq * 256 + j.key   AS location,
			j.value ->> 'id'   AS event_id,
			j.value ->> 't'    AS event_time,
			j.value ->> 'n'    AS event_name,
			j.value ->> 'y'    AS event_type,
			j.value -> 'd'     AS event_details,
			j.value ->> 'u'    AS user_uid,
			b.source_input     AS source_input,
			b.source_path      AS source_path,
			j.value ->> 'o'    AS source_offset,
			b.stored_at        AS stored_at
		FROM blocks b, json_each(b.events) j
		WHERE j.type = 'object';
	CREATE TRIGGER events_delete INSTEAD OF DELETE ON events BEGIN
		UPDATE blocks SET events = json_replace(events, '$[' || (OLD.location % 256) || ']', NULL)
			WHERE seq = OLD.location / 256;
	END;`

// defaultMergeEvery is how many stored events wait in memory (Store.pending)
// before their ids are written to id_chunks as one sorted run.
const defaultMergeEvery = 32768

// ErrClosed is returned by Write on a Store that is not open (before Open or
// after Close). Search wraps it together with [outputs.ErrUnavailable].
var ErrClosed = errors.New("sqlite store not open")

// minTime and maxTime bound the event_time a Store can hold: int64
// nanoseconds since the Unix epoch.
var (
	minTime = time.Unix(0, math.MinInt64).UTC()
	maxTime = time.Unix(0, math.MaxInt64).UTC()
)

// Store is the SQLite output and searcher. Create it with [New], then call
// [Store.Open] (read-write, for the agent) or [Store.OpenReadOnly] (for a
// process that only searches). Write is not safe for concurrent use (one
// writer, as [outputs.Output] promises); Search is, also concurrently with
// Write.
type Store struct {
	path    string
	busy    time.Duration
	log     *slog.Logger
	nowFunc func() time.Time

	mu sync.RWMutex
	w  *sql.DB // one connection, read-write; nil when read-only or not open
	r  *sql.DB // read-only pool; nil when not open

	// Used by Write only (one caller at a time), Open and Close.
	blocks  blockWriter          // inserts blocks with statements prepared on w
	readBlk *sql.Stmt            // a block's events by seq, see readBlockSQL
	prep    map[string]*sql.Stmt // preparedSQL on w, by their text
	buf     []byte               // encoded details, reused
	fresh   map[int64]int        // a batch's event_ids (to the index of the first in the rows to insert), reused
	// pending maps the event_id of every event in the blocks after merged,
	// whose ids are not in id_chunks yet, to its location; lastSeq is the
	// last block read into pending and seen, runs the index of id_chunks
	// as of id_state's version. Write brings them up to date with the
	// database first (see Store.sync), as another process may write too.
	pending    map[int64]int64
	merged     int64
	span       int64 // id_state's span as of the last sync
	lastSeq    int64
	version    int64
	runs       []idRun
	mergeEvery int         // merge once pending reaches this many events
	seen       *seenFilter // nil: look up every id
	seenCaps   [2]uint     // least and most ids seen is sized for (seenMinCap, seenMaxCap)
	seenSync   int64       // most events of another process a sync adds to seen (seenSyncMax)
}

// New returns a Store for c. A relative c.Path is joined to dataDir. New does
// no I/O; c must have passed [Config.Validate].
func New(c Config, dataDir string, log *slog.Logger) (*Store, error) {
	if c.Path == "" {
		c.Path = DefaultConfig().Path
	}
	busy, err := c.busyTimeout()
	if err != nil {
		return nil, fmt.Errorf("sqlite busy_timeout: %w", err)
	}
	p := c.Path
	if !filepath.IsAbs(p) {
		p = filepath.Join(dataDir, p)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{
		path:       p,
		busy:       busy,
		log:        log.With("component", "output", "output_type", "sqlite", "path", p),
		nowFunc:    time.Now,
		mergeEvery: defaultMergeEvery,
		seenCaps:   [2]uint{seenMinCap, seenMaxCap},
		seenSync:   seenSyncMax,
	}, nil
}

// Path returns the database file the Store uses.
func (s *Store) Path() string { return s.path }

// dsn builds a modernc.org/sqlite data source name for the file with extra
// query parameters.
func (s *Store) dsn(params url.Values) string {
	abs, err := filepath.Abs(s.path)
	if err != nil {
		abs = s.path
	}
	params.Add("_pragma", "busy_timeout("+strconv.FormatInt(s.busy.Milliseconds(), 10)+")")
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: params.Encode()}
	if !strings.HasPrefix(u.Path, "/") { // Windows drive letters
		u.Path = "/" + u.Path
	}
	return u.String()
}

// Open creates the database file if needed, switches it to WAL mode, migrates
// the schema and opens the read pool. It is called once, before the first
// Write.
func (s *Store) Open(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w != nil || s.r != nil {
		return fmt.Errorf("open sqlite %q: already open", s.path)
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o750); err != nil {
		return fmt.Errorf("open sqlite %q: %w", s.path, err)
	}
	if err := restrictFiles(s.path); err != nil {
		return fmt.Errorf("open sqlite %q: %w", s.path, err)
	}
	w, err := sql.Open("sqlite", s.dsn(url.Values{
		"_pragma": {"journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)", "cache_size(-1000)", "wal_autocheckpoint(10000)"},
		"_txlock": {"immediate"},
	}))
	if err != nil {
		return fmt.Errorf("open sqlite %q: %w", s.path, err)
	}
	// One writer connection: writes are serial anyway, and the pragmas above
	// apply per connection.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrate(ctx, w); err != nil {
		_ = w.Close()
		return fmt.Errorf("open sqlite %q: %w", s.path, err)
	}
	// The statements are prepared now: w has one connection, which a
	// transaction holds while Write runs.
	var stmts []*sql.Stmt
	for _, q := range []string{insertBlockSQL, readBlockSQL} {
		st, err := w.PrepareContext(ctx, q)
		if err != nil {
			_ = w.Close()
			return fmt.Errorf("open sqlite %q: prepare: %w", s.path, err)
		}
		stmts = append(stmts, st)
	}
	s.blocks = blockWriter{insert: stmts[0]}
	s.readBlk = stmts[1]
	s.prep = make(map[string]*sql.Stmt)
	for _, q := range preparedSQL {
		st, err := w.PrepareContext(ctx, q)
		if err != nil {
			_ = w.Close()
			return fmt.Errorf("open sqlite %q: prepare: %w", s.path, err)
		}
		s.prep[q] = st
	}
	s.pending, s.runs, s.seen, s.merged, s.lastSeq = nil, nil, nil, 0, 0
	if err := s.sync(ctx, w); err != nil {
		_ = w.Close()
		return fmt.Errorf("open sqlite %q: %w", s.path, err)
	}
	if err := s.buildSeen(ctx, w); err != nil {
		_ = w.Close()
		return fmt.Errorf("open sqlite %q: %w", s.path, err)
	}
	r, err := s.openReader(ctx, false)
	if err != nil {
		_ = w.Close()
		return err
	}
	s.w, s.r = w, r
	s.log.Info("store opened", "schema_version", schemaVersion)
	return nil
}

// restrictFiles creates the database file with mode 0600 when it does not
// exist and narrows it and any -wal and -shm files to 0600: they hold audit
// data. SQLite creates -wal and -shm with the mode of the database file.
func restrictFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// OpenReadOnly opens an existing database for Search only, for a process
// that reads while an agent writes (auditship query). Write then returns
// [ErrClosed]. It fails when the file does not exist or its schema is not one
// this code reads.
func (s *Store) OpenReadOnly(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.w != nil || s.r != nil {
		return fmt.Errorf("open sqlite %q: already open", s.path)
	}
	r, err := s.openReader(ctx, true)
	if err != nil {
		return err
	}
	s.r = r
	return nil
}

// openReader opens the read pool and checks the schema version. With ro the
// file is opened with mode=ro, so it must exist.
func (s *Store) openReader(ctx context.Context, ro bool) (*sql.DB, error) {
	v := url.Values{"_pragma": {"query_only(1)"}}
	if ro {
		v.Set("mode", "ro")
	}
	r, err := sql.Open("sqlite", s.dsn(v))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %q for reading: %w", s.path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	var ver int
	if err := r.QueryRowContext(ctx, "PRAGMA user_version").Scan(&ver); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("open sqlite %q for reading: %w", s.path, err)
	}
	if ver != schemaVersion {
		_ = r.Close()
		return nil, fmt.Errorf("open sqlite %q for reading: schema version %d, want %d (run the agent once to migrate)", s.path, ver, schemaVersion)
	}
	return r, nil
}

// migrate brings the schema to schemaVersion in one transaction.
func migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin migration: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	var ver int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&ver); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	if ver > schemaVersion {
		return fmt.Errorf("schema version %d is newer than this auditship supports (%d)", ver, schemaVersion)
	}
	for v := ver; v < schemaVersion; v++ {
		var err error
		if v == 3 {
			err = migrateV4(ctx, tx)
		} else {
			_, err = tx.ExecContext(ctx, migrations[v])
		}
		if err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
		}
	}
	if ver == schemaVersion {
		return addSpan(ctx, tx)
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(schemaVersion)); err != nil {
		return fmt.Errorf("set schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration: %w", err)
	}
	return nil
}

// clampNanos converts t to nanoseconds since the Unix epoch, saturating at
// the int64 range so far-off bounds still compare correctly.
func clampNanos(t time.Time) int64 {
	switch {
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// Close checkpoints the WAL into the database file and closes it. Searches
// in flight finish first. Close after Close is a no-op. It returns ctx.Err()
// without closing if ctx has already ended.
func (s *Store) Close(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
		s.r = nil
	}
	if s.w != nil {
		// Folding the WAL back keeps the .db file complete on its own, for
		// copies and backups; failure only leaves a longer WAL behind.
		errs = append(errs, s.blocks.insert.Close(), s.readBlk.Close())
		for _, st := range s.prep {
			errs = append(errs, st.Close())
		}
		s.blocks, s.readBlk, s.prep, s.pending, s.runs, s.seen = blockWriter{}, nil, nil, nil, nil, nil
		if _, err := s.w.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
			s.log.Warn("wal checkpoint failed", "error", err)
		}
		errs = append(errs, s.w.Close())
		s.w = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close sqlite %q: %w", s.path, err)
	}
	s.log.Info("store closed")
	return nil
}

// addSpan adds id_state.span to a version 4 store written before the column
// existed (the first builds of version 4), as MaxInt64: Search then does not
// bound its scans, which is always right.
func addSpan(ctx context.Context, tx *sql.Tx) error {
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM pragma_table_info('id_state') WHERE name = 'span'").Scan(&n); err != nil {
		return fmt.Errorf("read id_state columns: %w", err)
	}
	if n > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "ALTER TABLE id_state ADD COLUMN span INTEGER NOT NULL DEFAULT 9223372036854775807"); err != nil {
		return fmt.Errorf("add id_state.span: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration: %w", err)
	}
	return nil
}
