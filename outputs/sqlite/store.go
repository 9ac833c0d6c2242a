package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// schemaVersion is the PRAGMA user_version this code writes and reads.
const schemaVersion = 3

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
}

// defaultMergeEvery is how many stored events wait in memory (Store.pending)
// before their ids are merged into event_ids in one sorted run.
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
	stmts     map[int]*sql.Stmt // INSERTs on w by number of rows (maxRows, maxRows/2, ... 1), see insertSQL
	lookup    *sql.Stmt         // event_ids by a JSON array of ids, see lookupSQL
	mergeStmt *sql.Stmt         // INSERT of mergeRows pairs into event_ids, see mergeSQL
	args      []any             // INSERT arguments, reused
	buf       []byte            // encoded details, reused
	ids       []byte            // JSON array of ids to look up, reused
	// pending maps the event_id of every event stored after mergedSeq, so
	// not yet in event_ids, to its seq; nextSeq is the seq the next stored
	// event gets. Write brings them up to date with the table first (see
	// Store.sync), as another process may write to it too.
	pending    map[int64]int64
	mergedSeq  int64
	nextSeq    int64
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
	stmts := make(map[int]*sql.Stmt)
	for n := maxRows; n >= 1; n /= 2 {
		st, err := w.PrepareContext(ctx, insertSQL(n))
		if err != nil {
			_ = w.Close()
			return fmt.Errorf("open sqlite %q: prepare insert: %w", s.path, err)
		}
		stmts[n] = st
	}
	lookup, err := w.PrepareContext(ctx, lookupSQL)
	if err != nil {
		_ = w.Close()
		return fmt.Errorf("open sqlite %q: prepare lookup: %w", s.path, err)
	}
	mergeStmt, err := w.PrepareContext(ctx, mergeSQL(mergeRows))
	if err != nil {
		_ = w.Close()
		return fmt.Errorf("open sqlite %q: prepare merge: %w", s.path, err)
	}
	s.pending, s.seen = nil, nil
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
	s.w, s.r, s.stmts, s.lookup, s.mergeStmt = w, r, stmts, lookup, mergeStmt
	s.log.Info("store opened", "schema_version", schemaVersion)
	return nil
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// sync brings s.pending, s.mergedSeq and s.nextSeq up to date with the
// table. Another process may have stored events since (auditship query
// stores the audit events of its reads in the same file) or merged ids;
// Write calls sync inside its transaction, which holds SQLite's write lock,
// so what sync reads stays true until the commit. With s.pending nil (at
// Open) or a table that lost events, it reads every unmerged id.
func (s *Store) sync(ctx context.Context, q querier) error {
	var last, merged int64
	if err := q.QueryRowContext(ctx, "SELECT (SELECT coalesce(max(seq), 0) FROM events), (SELECT seq FROM id_merge)").
		Scan(&last, &merged); err != nil {
		return fmt.Errorf("read stored seq: %w", err)
	}
	if last < merged {
		// The newest events were deleted by hand: their ids must go, or
		// the events that reuse their seqs would count as merged.
		if _, err := q.ExecContext(ctx, "DELETE FROM event_ids WHERE seq > ?", last); err != nil {
			return fmt.Errorf("drop ids of deleted events: %w", err)
		}
		if _, err := q.ExecContext(ctx, "UPDATE id_merge SET seq = ?", last); err != nil {
			return fmt.Errorf("drop ids of deleted events: %w", err)
		}
		merged = last
	}
	from := s.nextSeq // the first seq s.pending and s.seen may lack
	if s.pending == nil || last < s.nextSeq-1 || merged < s.mergedSeq {
		s.pending = make(map[int64]int64)
		s.mergedSeq = merged
		from = merged + 1
		s.seen = nil // Open builds it; it may lack ids after this
	}
	if merged > s.mergedSeq {
		for id, seq := range s.pending {
			if seq <= merged {
				delete(s.pending, id)
			}
		}
		s.mergedSeq = merged
	}
	if s.seen != nil && last-from+1 > s.seenSync {
		s.log.Info("another process stored many events: event ids are looked up from now on", "events", last-from+1)
		s.seen = nil
	}
	if s.seen == nil {
		// Events merged by another process need not be read.
		from = max(from, merged+1)
	}
	if last >= from {
		if err := s.readPending(ctx, q, from); err != nil {
			s.pending = nil // read them all next time
			return err
		}
	}
	s.nextSeq = last + 1
	return nil
}

// readPending adds the events from seq from on to s.seen, and those not
// merged to s.pending.
func (s *Store) readPending(ctx context.Context, q querier, from int64) error {
	rows, err := q.QueryContext(ctx, "SELECT event_id, seq FROM events WHERE seq >= ?", from)
	if err != nil {
		return fmt.Errorf("read unmerged ids: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var id, seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return fmt.Errorf("read unmerged ids: %w", err)
		}
		if s.seen != nil {
			s.seen.add(id)
		}
		if seq > s.mergedSeq {
			s.pending[id] = seq
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read unmerged ids: %w", err)
	}
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
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate schema to version %d: %w", v+1, err)
		}
	}
	if ver == schemaVersion {
		return nil
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(schemaVersion)); err != nil {
		return fmt.Errorf("set schema version: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit migration: %w", err)
	}
	return nil
}

// maxRows is the most events one INSERT statement carries: fewer statements
// mean less per-statement work in database/sql and the driver, smaller ones
// less memory for the prepared program and its arguments. Batches are split
// into statements of maxRows, then powers of two, so at most a few
// statement texts are ever prepared.
const maxRows = 256

// insertSQL returns the INSERT of n events. seq is left out: SQLite numbers
// the rows on from the largest seq in the table, in the order given. An
// INSERT that named the rowid could fail halfway (it must be an integer),
// and SQLite would then copy every page the statement changes into a
// statement journal first, which costs more than the INSERT.
func insertSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO events (event_id, event_time, event_name, event_type, event_details, user_uid,
	source_input, source_path, source_offset, stored_at) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?,?,?,?,?,?,?,?,?)")
	}
	return b.String()
}

// lookupSQL finds which of the event_ids in a JSON array (its one argument)
// are in event_ids, and their seq.
const lookupSQL = "SELECT event_id, seq FROM event_ids WHERE event_id IN (SELECT value FROM json_each(?))"

// row is one event of a batch: its index in the batch, its details encoded
// as JSON and the seq it is stored as.
type row struct {
	i       int
	details string
	seq     int64
}

// Write stores batch in one transaction and returns after the commit is on
// disk. An event already stored with the same event_id and the same content
// (event_time to the nanosecond, name, type, details as JSON, user_uid) is a
// replay and counts as written; so is a repeat of an event earlier in batch.
// A different event reusing an event_id is not stored. It and any event that
// cannot be stored at all (event_time outside the years 1677 to 2262,
// event_details that do not encode as JSON) are reported in a
// *[outputs.BatchError] as not retryable while the rest of the batch is
// committed. Any other error means nothing was committed.
func (s *Store) Write(ctx context.Context, batch []event.Event) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.w == nil {
		return ErrClosed
	}
	if len(batch) == 0 {
		return nil
	}
	start := time.Now()
	var bad []outputs.ItemError
	rows := make([]row, 0, len(batch))
	buf := s.buf[:0]
	var ends []int
	for i := range batch {
		e := &batch[i]
		if e.Time.Before(minTime) || e.Time.After(maxTime) {
			bad = append(bad, outputs.ItemError{Index: i, Reason: fmt.Sprintf("event_time %s outside the range the sqlite store holds", e.Time.UTC().Format(time.RFC3339))})
			continue
		}
		var err error
		n := len(buf)
		if buf, err = event.AppendDetails(buf, e.Details); err != nil {
			buf = buf[:n]
			bad = append(bad, outputs.ItemError{Index: i, Reason: err.Error()})
			continue
		}
		rows = append(rows, row{i: i})
		ends = append(ends, len(buf))
	}
	// One string for all details, sliced per row: one allocation per batch.
	all := string(buf)
	if cap(buf) <= 1<<20 { // keep a usual batch's buffer, not an outlier's
		s.buf = buf[:0]
	}
	for k, n := 0, 0; k < len(rows); k++ {
		rows[k].details = all[n:ends[k]]
		n = ends[k]
	}

	// BEGIN IMMEDIATE (see Open): the write lock is held from here.
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin sqlite write: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := s.sync(ctx, tx); err != nil {
		return err
	}
	merged, err := s.lookupMerged(ctx, tx, batch, rows)
	if err != nil {
		return err
	}
	// Split rows into those to insert, numbered on from nextSeq, and
	// conflicts: an event_id stored before (pending or merged) or earlier
	// in batch, where the first occurrence is the one stored.
	fresh := make(map[int64]int, len(rows)) // event_id → index in ins
	ins := make([]row, 0, len(rows))
	for _, r := range rows {
		e := batch[r.i]
		seq, ok := s.pending[e.ID]
		if !ok {
			seq, ok = merged[e.ID]
		}
		if ok {
			reason, found, err := conflict(ctx, tx, e, r.details, seq)
			if err != nil {
				return err
			}
			if found {
				if reason != "" {
					bad = append(bad, outputs.ItemError{Index: r.i, Reason: reason})
				}
				continue
			}
			// The stored event was deleted by hand: store this one anew.
			if _, err := tx.ExecContext(ctx, "DELETE FROM event_ids WHERE event_id = ?", e.ID); err != nil {
				return fmt.Errorf("drop id of a deleted event: %w", err)
			}
			delete(s.pending, e.ID)
			delete(merged, e.ID)
		}
		if k, ok := fresh[e.ID]; ok {
			f := ins[k]
			if reason := outputs.ReusedID(batch[f.i], f.details, e, r.details, time.Nanosecond); reason != "" {
				bad = append(bad, outputs.ItemError{Index: r.i, Reason: reason})
			}
			continue
		}
		r.seq = s.nextSeq + int64(len(ins))
		fresh[e.ID] = len(ins)
		ins = append(ins, r)
	}
	stored := s.nowFunc().UnixNano()
	for rest := ins; len(rest) > 0; {
		n := maxRows
		for n > len(rest) {
			n /= 2
		}
		if err := s.insert(ctx, tx, batch, rest[:n], stored); err != nil {
			return err
		}
		rest = rest[n:]
	}
	last := s.nextSeq + int64(len(ins)) - 1
	if len(ins) > 0 {
		// The seqs given above are SQLite's numbering; check it.
		var got int64
		if err := tx.QueryRowContext(ctx, "SELECT max(seq) FROM events").Scan(&got); err != nil {
			return fmt.Errorf("read stored seq: %w", err)
		}
		if got != last {
			s.pending = nil // read them all again next time
			return fmt.Errorf("sqlite numbered the events up to seq %d, want %d", got, last)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit sqlite write: %w", err)
	}
	s.nextSeq = last + 1
	for _, r := range ins {
		s.pending[batch[r.i].ID] = r.seq
		if s.seen != nil {
			s.seen.add(batch[r.i].ID)
		}
	}
	if s.seen != nil && s.seen.full() {
		if err := s.buildSeen(ctx, s.w); err != nil {
			s.log.Warn("event id filter not rebuilt: event ids are looked up from now on", "error", err)
			s.seen = nil
		}
	}
	if len(s.pending) >= s.mergeEvery {
		s.merge(ctx, last)
	}
	s.log.Debug("batch written", "count", len(batch)-len(bad), "duration", time.Since(start))
	if len(bad) > 0 {
		slices.SortFunc(bad, func(a, b outputs.ItemError) int { return a.Index - b.Index })
		return &outputs.BatchError{Items: bad}
	}
	return nil
}

// lookupMerged returns the seq of every event_id of rows that is in
// event_ids, in one query. Ids in s.pending are not looked up.
func (s *Store) lookupMerged(ctx context.Context, tx *sql.Tx, batch []event.Event, rows []row) (map[int64]int64, error) {
	ids := append(s.ids[:0], '[')
	for _, r := range rows {
		id := batch[r.i].ID
		if _, ok := s.pending[id]; ok {
			continue
		}
		if s.seen != nil && !s.seen.mayHave(id) {
			continue
		}
		if len(ids) > 1 {
			ids = append(ids, ',')
		}
		ids = strconv.AppendInt(ids, id, 10)
	}
	ids = append(ids, ']')
	s.ids = ids
	if len(ids) == 2 {
		return nil, nil
	}
	res, err := tx.StmtContext(ctx, s.lookup).QueryContext(ctx, string(ids))
	if err != nil {
		return nil, fmt.Errorf("look up event ids: %w", err)
	}
	defer func() { _ = res.Close() }()
	var found map[int64]int64
	for res.Next() {
		var id, seq int64
		if err := res.Scan(&id, &seq); err != nil {
			return nil, fmt.Errorf("look up event ids: %w", err)
		}
		if found == nil {
			found = make(map[int64]int64)
		}
		found[id] = seq
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("look up event ids: %w", err)
	}
	return found, nil
}

// insert runs one INSERT of rows (len(rows) is maxRows or a power of two)
// in tx.
func (s *Store) insert(ctx context.Context, tx *sql.Tx, batch []event.Event, rows []row, stored int64) error {
	args := s.args[:0]
	for _, r := range rows {
		e := &batch[r.i]
		args = append(args, e.ID, e.Time.UnixNano(), e.Name, e.Type, r.details, e.UserUID,
			e.Source.Input, e.Source.Path, e.Source.Offset, stored)
	}
	s.args = args
	defer clear(args) // keep no events alive between batches
	if _, err := tx.StmtContext(ctx, s.stmts[len(rows)]).ExecContext(ctx, args...); err != nil {
		return fmt.Errorf("insert %d events: %w", len(rows), err)
	}
	return nil
}

// mergeRows is how many event_ids one INSERT of a merge carries.
const mergeRows = 512

// merge adds the pending event_ids, those of the events stored up to and
// including seq last, to event_ids in event_id order, so that each page of
// event_ids is written once per merge rather than once per batch, then
// records last in id_merge. Each statement is a transaction of its own:
// one transaction for the whole merge would hold about 2 MiB more of dirty
// pages. After a crash, or a Write of another process, before id_merge is
// updated, the next merge adds the same ids again, which OR IGNORE skips. A
// failed merge is logged and tried again after the next Write; the ids stay
// pending.
func (s *Store) merge(ctx context.Context, last int64) {
	start := time.Now()
	pairs := make([][2]int64, 0, len(s.pending))
	for id, seq := range s.pending {
		pairs = append(pairs, [2]int64{id, seq})
	}
	slices.SortFunc(pairs, func(a, b [2]int64) int { return cmp.Compare(a[0], b[0]) })
	args := make([]any, 0, 2*mergeRows)
	for rest := pairs; len(rest) > 0; {
		n := min(mergeRows, len(rest))
		args = args[:0]
		for _, p := range rest[:n] {
			args = append(args, p[0], p[1])
		}
		var err error
		if n == mergeRows {
			_, err = s.mergeStmt.ExecContext(ctx, args...)
		} else {
			_, err = s.w.ExecContext(ctx, mergeSQL(n), args...)
		}
		if err != nil {
			s.log.Warn("merge of event ids failed", "error", err)
			return
		}
		rest = rest[n:]
	}
	if _, err := s.w.ExecContext(ctx, "UPDATE id_merge SET seq = max(seq, ?)", last); err != nil {
		s.log.Warn("merge of event ids failed", "error", err)
		return
	}
	s.log.Debug("event ids merged", "count", len(pairs), "duration", time.Since(start))
	clear(s.pending)
	s.mergedSeq = last
}

// mergeSQL returns the INSERT of n (event_id, seq) pairs into event_ids.
func mergeSQL(n int) string {
	return "INSERT OR IGNORE INTO event_ids (event_id, seq) VALUES " + strings.TrimSuffix(strings.Repeat("(?,?),", n), ",")
}

// conflict compares the stored event in row seq, which should have e's
// event_id, against e, whose details encode as d. It returns "" when they
// are the same event (a replay) and the dead-letter reason when they differ;
// found is false when row seq is gone or holds another event_id (events
// deleted by hand).
func conflict(ctx context.Context, tx *sql.Tx, e event.Event, d string, seq int64) (reason string, found bool, err error) {
	var old event.Event
	var ns int64
	var details string
	err = tx.QueryRowContext(ctx, "SELECT event_time, event_name, event_type, event_details, user_uid FROM events WHERE seq = ? AND event_id = ?", seq, e.ID).
		Scan(&ns, &old.Name, &old.Type, &details, &old.UserUID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("read stored event %d: %w", e.ID, err)
	}
	old.Time = time.Unix(0, ns)
	return outputs.ReusedID(old, details, e, d, time.Nanosecond), true, nil
}

// Search returns at most q.Limit events matching q, sorted by (event_time,
// event_id) in q.Order, strictly after q.After when it is set. Names, Types
// and UserUIDs each match any of their values; different filters must all
// match. Start is inclusive, End exclusive. Errors from the database,
// including a Store that is not open, wrap [outputs.ErrUnavailable].
func (s *Store) Search(ctx context.Context, q outputs.Query) ([]event.Event, error) {
	if q.Limit <= 0 {
		return []event.Event{}, nil
	}
	query, args := buildSearch(q)
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.r == nil {
		return nil, fmt.Errorf("search sqlite: %w: %w", outputs.ErrUnavailable, ErrClosed)
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("search sqlite: %w: %w", outputs.ErrUnavailable, err)
	}
	defer func() { _ = rows.Close() }()
	out := make([]event.Event, 0, min(q.Limit, 1024))
	for rows.Next() {
		var (
			e       event.Event
			ns      int64
			details string
		)
		if err := rows.Scan(&e.ID, &ns, &e.Name, &e.Type, &details, &e.UserUID); err != nil {
			return nil, fmt.Errorf("search sqlite: %w: %w", outputs.ErrUnavailable, err)
		}
		e.Time = time.Unix(0, ns).UTC()
		if e.Details, err = event.UnmarshalDetails([]byte(details)); err != nil {
			return nil, fmt.Errorf("search sqlite: event %d: %w", e.ID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search sqlite: %w: %w", outputs.ErrUnavailable, err)
	}
	return out, nil
}

// buildSearch turns q into SQL and its arguments. Only placeholders carry
// values; the SQL text depends only on which filters are set and how many
// values each has.
func buildSearch(q outputs.Query) (string, []any) {
	var (
		where []string
		args  []any
	)
	in := func(col string, n int) {
		where = append(where, col+" IN ("+strings.TrimSuffix(strings.Repeat("?,", n), ",")+")")
	}
	if len(q.Names) > 0 {
		in("event_name", len(q.Names))
		for _, v := range q.Names {
			args = append(args, v)
		}
	}
	if len(q.Types) > 0 {
		in("event_type", len(q.Types))
		for _, v := range q.Types {
			args = append(args, v)
		}
	}
	if len(q.UserUIDs) > 0 {
		in("user_uid", len(q.UserUIDs))
		for _, v := range q.UserUIDs {
			args = append(args, v)
		}
	}
	if !q.Start.IsZero() {
		where = append(where, "event_time >= ?")
		args = append(args, clampNanos(q.Start))
	}
	if !q.End.IsZero() {
		where = append(where, "event_time < ?")
		args = append(args, clampNanos(q.End))
	}
	dir, cmp := "DESC", "<"
	if q.Order == outputs.Asc {
		dir, cmp = "ASC", ">"
	}
	if q.After != nil {
		where = append(where, "(event_time, event_id) "+cmp+" (?, ?)")
		args = append(args, clampNanos(q.After.Time), q.After.ID)
	}
	var b strings.Builder
	b.WriteString("SELECT event_id, event_time, event_name, event_type, event_details, user_uid FROM events")
	if len(where) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(where, " AND "))
	}
	fmt.Fprintf(&b, " ORDER BY event_time %s, event_id %s LIMIT ?", dir, dir)
	args = append(args, q.Limit)
	return b.String(), args
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
		for _, st := range s.stmts {
			errs = append(errs, st.Close())
		}
		errs = append(errs, s.lookup.Close(), s.mergeStmt.Close())
		s.stmts, s.lookup, s.mergeStmt, s.pending, s.seen = nil, nil, nil, nil, nil
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
