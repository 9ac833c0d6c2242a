package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
)

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// readBlockSQL reads the events of one block.
const readBlockSQL = "SELECT events FROM blocks WHERE seq = ?"

// sync brings s.pending, s.merged, s.lastSeq, s.runs and s.seen up to date
// with the database. Another process may have stored blocks since
// (auditship query stores the audit events of its reads in the same file)
// or merged ids; Write calls sync inside its transaction, which holds
// SQLite's write lock, so what sync reads stays true until the commit.
// With s.pending nil (at Open) it reads every unmerged id.
func (s *Store) sync(ctx context.Context, q querier) error {
	var merged, version int64
	if err := q.QueryRowContext(ctx, syncStateSQL).Scan(&merged, &version, &s.span); err != nil {
		return fmt.Errorf("read merged ids: %w", err)
	}
	if s.runs == nil || version != s.version {
		runs, err := readRuns(ctx, q)
		if err != nil {
			return err
		}
		s.runs, s.version = runs, version
	}
	if s.pending == nil || merged < s.merged {
		s.pending = make(map[int64]int64)
		s.merged = merged
		s.lastSeq = merged
		s.seen = nil // Open builds it; it may lack ids after this
	}
	if merged > s.merged {
		for id, l := range s.pending {
			if locSeq(l) <= merged {
				delete(s.pending, id)
			}
		}
		s.merged = merged
	}
	from := s.lastSeq
	if s.seen == nil {
		// Blocks merged by another process need not be read.
		from = max(from, merged)
	}
	if err := s.readBlocks(ctx, q, from); err != nil {
		s.pending = nil // read them all next time
		return err
	}
	return nil
}

// readBlocks adds the ids of the blocks after seq from to s.seen, and those
// not merged to s.pending.
func (s *Store) readBlocks(ctx context.Context, q querier, from int64) error {
	rows, err := q.QueryContext(ctx, readBlocksSQL, from)
	if err != nil {
		return fmt.Errorf("read unmerged ids: %w", err)
	}
	defer func() { _ = rows.Close() }()
	var added int64
	for rows.Next() {
		var seq int64
		var b []byte
		if err := rows.Scan(&seq, &b); err != nil {
			return fmt.Errorf("read unmerged ids: %w", err)
		}
		for i, id := range readIDs(b) {
			if seq > s.merged {
				s.pending[id] = loc(seq, i)
			}
			if s.seen != nil {
				s.seen.add(id)
			}
		}
		added += int64(len(b) / 8)
		s.lastSeq = max(s.lastSeq, seq)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read unmerged ids: %w", err)
	}
	if s.seen != nil && added > s.seenSync {
		s.log.Info("another process stored many events: event ids are looked up from now on", "events", added)
		s.seen = nil
	}
	return nil
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
	idx := make([]int, 0, len(batch)) // rows[k] is batch[idx[k]]
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
		rows = append(rows, row{e: e})
		idx = append(idx, i)
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
	if err := s.sync(ctx, s.in(tx)); err != nil {
		return err
	}
	// The filter first: most ids are new, and it holds the pending ones too.
	var look []int64
	maybe := make([]bool, len(rows))
	for k, r := range rows {
		id := r.e.ID
		if s.seen != nil && !s.seen.mayHave(id) {
			continue
		}
		maybe[k] = true
		if _, ok := s.pending[id]; ok {
			continue
		}
		look = append(look, id)
	}
	merged, err := s.lookupRuns(ctx, s.in(tx), look)
	if err != nil {
		return err
	}
	// Split rows into those to insert and conflicts: an event_id stored
	// before (pending or merged) or earlier in batch, where the first
	// occurrence is the one stored.
	stored := s.nowFunc().UnixNano()
	blocks := make(map[int64][]*blockEvent) // decoded blocks of stored events met
	if s.fresh == nil {
		s.fresh = make(map[int64]int)
	}
	fresh := s.fresh // event_id → index in ins
	clear(fresh)
	ins := make([]row, 0, len(rows))
	for k, r := range rows {
		e := r.e
		var locs []int64
		if maybe[k] {
			locs = merged[e.ID]
			if l, ok := s.pending[e.ID]; ok {
				locs = append([]int64{l}, locs...)
			}
		}
		if len(locs) > 0 {
			reason, found, err := s.conflict(ctx, tx, blocks, r, locs)
			if err != nil {
				return err
			}
			if found {
				if reason != "" {
					bad = append(bad, outputs.ItemError{Index: idx[k], Reason: reason})
				}
				continue
			}
			// The stored event was deleted by hand: store this one anew.
		}
		if f, ok := fresh[e.ID]; ok {
			if reason := outputs.ReusedID(*ins[f].e, ins[f].details, *e, r.details, time.Nanosecond); reason != "" {
				bad = append(bad, outputs.ItemError{Index: idx[k], Reason: reason})
			}
			continue
		}
		r.storedAt = stored
		fresh[e.ID] = len(ins)
		ins = append(ins, r)
	}
	locs := make([]int64, len(ins))
	s.blocks.span = 0
	if err := s.blocks.writeBlocks(ctx, tx, ins, func(i int, l int64) { locs[i] = l }); err != nil {
		return err
	}
	if s.blocks.span > s.span {
		// Search bounds its scans of the time indexes by the widest block.
		if _, err := tx.ExecContext(ctx, "UPDATE id_state SET span = max(span, ?)", s.blocks.span); err != nil {
			return fmt.Errorf("record block span: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit sqlite write: %w", err)
	}
	for i, r := range ins {
		s.pending[r.e.ID] = locs[i]
		s.lastSeq = max(s.lastSeq, locSeq(locs[i]))
		if s.seen != nil {
			s.seen.add(r.e.ID)
		}
	}
	if s.seen != nil && s.seen.full() {
		if err := s.buildSeen(ctx, s.w); err != nil {
			s.log.Warn("event id filter not rebuilt: event ids are looked up from now on", "error", err)
			s.seen = nil
		}
	}
	if len(s.pending) >= s.mergeEvery {
		s.merge(ctx)
	}
	s.log.Debug("batch written", "count", len(batch)-len(bad), "duration", time.Since(start))
	if len(bad) > 0 {
		slices.SortFunc(bad, func(a, b outputs.ItemError) int { return a.Index - b.Index })
		return &outputs.BatchError{Items: bad}
	}
	return nil
}

// conflict compares r's event with the event stored at the first of locs
// that still holds its event_id (the others were deleted by hand). It
// returns "" when they are the same event (a replay) and the dead-letter
// reason when they differ; found is false when none of locs holds the
// event_id any more. blocks caches the blocks read, by seq.
func (s *Store) conflict(ctx context.Context, tx *sql.Tx, blocks map[int64][]*blockEvent, r row, locs []int64) (reason string, found bool, err error) {
	for _, l := range locs {
		seq := locSeq(l)
		evs, ok := blocks[seq]
		if !ok {
			var b []byte
			err := tx.StmtContext(ctx, s.readBlk).QueryRowContext(ctx, seq).Scan(&b)
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return "", false, fmt.Errorf("read stored event %d: %w", r.e.ID, err)
			default:
				if evs, err = decodeBlock(b); err != nil {
					return "", false, fmt.Errorf("read stored event %d: block %d: %w", r.e.ID, seq, err)
				}
			}
			blocks[seq] = evs
		}
		i := locIndex(l)
		if i >= len(evs) || evs[i] == nil || evs[i].ID != r.e.ID {
			continue
		}
		old := event.Event{Time: time.Unix(0, evs[i].Time), Name: evs[i].Name, Type: evs[i].Type, UserUID: evs[i].UserUID}
		return outputs.ReusedID(old, string(evs[i].Details), *r.e, r.details, time.Nanosecond), true, nil
	}
	return "", false, nil
}

// preparedSQL are the statements Write and merge run on every call, which
// Open prepares once: SQLite would otherwise compile them each time.
var preparedSQL = []string{
	syncStateSQL, readBlocksSQL, lookupChunksSQL, insertChunkSQL, readChunkSQL,
}

const (
	syncStateSQL    = "SELECT merged, version, span FROM id_state"
	readBlocksSQL   = "SELECT seq, ids FROM blocks WHERE seq > ? ORDER BY seq"
	lookupChunksSQL = "SELECT entries FROM id_chunks WHERE chunk IN (SELECT value FROM json_each(?))"
	insertChunkSQL  = "INSERT INTO id_chunks (run, first, entries) VALUES (?, ?, ?)"
	readChunkSQL    = "SELECT entries FROM id_chunks WHERE chunk = ?"
)

// txq runs statements in tx, the ones in prep through their prepared form.
type txq struct {
	tx   *sql.Tx
	prep map[string]*sql.Stmt
}

func (s *Store) in(tx *sql.Tx) querier { return txq{tx: tx, prep: s.prep} }

func (q txq) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := q.prep[query]; st != nil {
		return q.tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return q.tx.ExecContext(ctx, query, args...)
}

func (q txq) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := q.prep[query]; st != nil {
		return q.tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return q.tx.QueryContext(ctx, query, args...)
}

func (q txq) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := q.prep[query]; st != nil {
		return q.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return q.tx.QueryRowContext(ctx, query, args...)
}
