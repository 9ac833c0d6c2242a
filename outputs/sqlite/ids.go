package sqlite

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"sort"
	"strconv"
)

// chunkEntries is how many (event_id, location) entries one row of
// id_chunks holds: 16 bytes each, 3,840 bytes in all, so that a row fits
// on a 4 KiB page without an overflow page.
const chunkEntries = 240

// mergeFanIn is how many runs of one size tier are merged into one.
const mergeFanIn = 8

// tier is the size tier of a run of n ids: 0 up to mergeFanIn times
// mergeEvery, then one more for each factor of mergeFanIn.
func tier(n, mergeEvery int) int {
	t := 0
	for n >= mergeFanIn*mergeEvery {
		n /= mergeFanIn
		t++
	}
	return t
}

// idEntry is one entry of an id run: an event_id and the location of the
// event stored under it (see loc).
type idEntry struct{ id, loc int64 }

func compareEntries(a, b idEntry) int {
	if c := cmp.Compare(a.id, b.id); c != 0 {
		return c
	}
	return cmp.Compare(a.loc, b.loc)
}

// sortByID sorts entries, whose ids are distinct, by id and returns them
// sorted: in entries or in tmp (of the same length), whichever the last pass
// wrote. It is an LSD radix sort, a byte of the id a pass, and skips a byte
// that all ids share (the high bytes of sequential ids): about a tenth of
// the comparisons' cost of slices.SortFunc on the 32,768 entries of a run.
func sortByID(entries, tmp []idEntry) []idEntry {
	if len(entries) < 2 {
		return entries
	}
	for shift := uint(0); shift < 64; shift += 8 {
		var count [256]int
		for _, e := range entries {
			count[digit(e.id, shift)]++
		}
		if count[digit(entries[0].id, shift)] == len(entries) {
			continue // every id has this byte: the order stays
		}
		pos := 0
		for i, c := range count {
			count[i] = pos
			pos += c
		}
		for _, e := range entries {
			d := digit(e.id, shift)
			tmp[count[d]] = e
			count[d]++
		}
		entries, tmp = tmp, entries
	}
	return entries
}

// digit is the byte of id at shift, the sign bit flipped so that negative
// ids sort first.
func digit(id int64, shift uint) uint8 {
	return uint8((uint64(id) ^ 1<<63) >> shift)
}

// idRun is one sorted run of id_chunks as the Store keeps it in memory: its
// number, how many entries it holds and the first event_id of each chunk
// with the chunk's rowid, in event_id order.
type idRun struct {
	run    int64
	n      int
	chunks []chunkRef
}

type chunkRef struct{ first, chunk int64 }

// readRuns reads the index of id_chunks: every run, oldest first, with its
// chunks. About 40,000 rows for 10 million events.
func readRuns(ctx context.Context, q querier) ([]idRun, error) {
	rows, err := q.QueryContext(ctx, "SELECT run, first, chunk, length(entries) / 16 FROM id_chunks ORDER BY run, first, chunk")
	if err != nil {
		return nil, fmt.Errorf("read id runs: %w", err)
	}
	defer func() { _ = rows.Close() }()
	runs := []idRun{}
	for rows.Next() {
		var run, first, chunk int64
		var n int
		if err := rows.Scan(&run, &first, &chunk, &n); err != nil {
			return nil, fmt.Errorf("read id runs: %w", err)
		}
		if len(runs) == 0 || runs[len(runs)-1].run != run {
			runs = append(runs, idRun{run: run})
		}
		r := &runs[len(runs)-1]
		r.n += n
		r.chunks = append(r.chunks, chunkRef{first: first, chunk: chunk})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read id runs: %w", err)
	}
	return runs, nil
}

// chunksFor appends to dst the rowids of the chunks of r that may hold id:
// the last chunk starting below id and those starting at id.
func (r *idRun) chunksFor(dst []int64, id int64) []int64 {
	k := sort.Search(len(r.chunks), func(i int) bool { return r.chunks[i].first >= id })
	if k > 0 {
		dst = append(dst, r.chunks[k-1].chunk)
	}
	for ; k < len(r.chunks) && r.chunks[k].first == id; k++ {
		dst = append(dst, r.chunks[k].chunk)
	}
	return dst
}

// lookupRuns returns every location id_chunks holds for each of ids (more
// than one when events were deleted by hand and stored again), in one
// query.
func (s *Store) lookupRuns(ctx context.Context, q querier, ids []int64) (map[int64][]int64, error) {
	if len(ids) == 0 || len(s.runs) == 0 {
		return nil, nil
	}
	var chunks []int64
	for _, id := range ids {
		for i := range s.runs {
			chunks = s.runs[i].chunksFor(chunks, id)
		}
	}
	slices.Sort(chunks)
	chunks = slices.Compact(chunks)
	arg := make([]byte, 0, 12*len(chunks)+2)
	arg = append(arg, '[')
	for i, c := range chunks {
		if i > 0 {
			arg = append(arg, ',')
		}
		arg = strconv.AppendInt(arg, c, 10)
	}
	arg = append(arg, ']')
	rows, err := q.QueryContext(ctx, lookupChunksSQL, string(arg))
	if err != nil {
		return nil, fmt.Errorf("look up event ids: %w", err)
	}
	defer func() { _ = rows.Close() }()
	want := make(map[int64]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	found := make(map[int64][]int64)
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("look up event ids: %w", err)
		}
		for i := 0; i+16 <= len(b); i += 16 {
			id := int64(binary.LittleEndian.Uint64(b[i:]))
			if want[id] {
				found[id] = append(found[id], int64(binary.LittleEndian.Uint64(b[i+8:])))
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("look up event ids: %w", err)
	}
	return found, nil
}

// writeRun stores entries (sorted) as run number run, in chunks.
func writeRun(ctx context.Context, tx querier, run int64, entries []idEntry) (idRun, error) {
	r := idRun{run: run, n: len(entries)}
	buf := make([]byte, 0, 16*chunkEntries)
	for rest := entries; len(rest) > 0; {
		n := min(len(rest), chunkEntries)
		buf = buf[:0]
		for _, e := range rest[:n] {
			buf = binary.LittleEndian.AppendUint64(buf, uint64(e.id))
			buf = binary.LittleEndian.AppendUint64(buf, uint64(e.loc))
		}
		res, err := tx.ExecContext(ctx, insertChunkSQL, run, rest[0].id, buf)
		if err != nil {
			return idRun{}, fmt.Errorf("write id run: %w", err)
		}
		c, err := res.LastInsertId()
		if err != nil {
			return idRun{}, fmt.Errorf("write id run: %w", err)
		}
		r.chunks = append(r.chunks, chunkRef{first: rest[0].id, chunk: c})
		rest = rest[n:]
	}
	return r, nil
}

// mergeRuns merges runs into one new run numbered run and deletes them,
// reading one chunk of each at a time: a merge holds mergeFanIn chunks and
// one chunk being written, not the runs.
func mergeRuns(ctx context.Context, q querier, runs []idRun, run int64) (idRun, error) {
	type cursor struct {
		chunks []chunkRef
		buf    []idEntry
	}
	cs := make([]*cursor, len(runs))
	for i, r := range runs {
		cs[i] = &cursor{chunks: r.chunks}
	}
	// fill loads the cursor's next chunk when its buffer is empty; it
	// reports whether the cursor has an entry.
	fill := func(c *cursor) (bool, error) {
		for len(c.buf) == 0 && len(c.chunks) > 0 {
			var b []byte
			if err := q.QueryRowContext(ctx, readChunkSQL, c.chunks[0].chunk).Scan(&b); err != nil {
				return false, fmt.Errorf("merge id runs: %w", err)
			}
			c.chunks = c.chunks[1:]
			c.buf = c.buf[:0]
			for i := 0; i+16 <= len(b); i += 16 {
				c.buf = append(c.buf, idEntry{int64(binary.LittleEndian.Uint64(b[i:])), int64(binary.LittleEndian.Uint64(b[i+8:]))})
			}
		}
		return len(c.buf) > 0, nil
	}
	out := make([]idEntry, 0, chunkEntries)
	m := idRun{run: run}
	flush := func() error {
		r, err := writeRun(ctx, q, run, out)
		if err != nil {
			return err
		}
		m.n += r.n
		m.chunks = append(m.chunks, r.chunks...)
		out = out[:0]
		return nil
	}
	for {
		var lo *cursor
		for _, c := range cs {
			ok, err := fill(c)
			if err != nil {
				return idRun{}, err
			}
			if ok && (lo == nil || compareEntries(c.buf[0], lo.buf[0]) < 0) {
				lo = c
			}
		}
		if lo == nil {
			break
		}
		out = append(out, lo.buf[0])
		lo.buf = lo.buf[1:]
		if len(out) == chunkEntries {
			if err := flush(); err != nil {
				return idRun{}, err
			}
		}
	}
	if len(out) > 0 {
		if err := flush(); err != nil {
			return idRun{}, err
		}
	}
	for _, r := range runs {
		if _, err := q.ExecContext(ctx, "DELETE FROM id_chunks WHERE run = ?", r.run); err != nil {
			return idRun{}, fmt.Errorf("merge id runs: %w", err)
		}
	}
	return m, nil
}

// readRun appends all entries of run, in order, to out.
func readRun(ctx context.Context, q querier, run int64, out []idEntry) ([]idEntry, error) {
	rows, err := q.QueryContext(ctx, "SELECT entries FROM id_chunks WHERE run = ? ORDER BY first, chunk", run)
	if err != nil {
		return nil, fmt.Errorf("read id run: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("read id run: %w", err)
		}
		for i := 0; i+16 <= len(b); i += 16 {
			out = append(out, idEntry{int64(binary.LittleEndian.Uint64(b[i:])), int64(binary.LittleEndian.Uint64(b[i+8:]))})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read id run: %w", err)
	}
	return out, nil
}

// merge writes the pending event_ids as a new run of id_chunks. Runs are
// kept in size tiers (mergeEvery ids, mergeFanIn times as many, ...); once
// a tier has mergeFanIn runs they are merged into one of the next tier, so
// each id is rewritten about log8(events/mergeEvery) times and there are at
// most mergeFanIn-1 runs per tier. It is one transaction of its own, which
// also records the last merged block in id_state; another process that
// merges at the same time waits for SQLite's write lock and then finds the
// ids merged. A failed merge is logged and tried again after the next
// Write; the ids stay pending.
func (s *Store) merge(ctx context.Context) {
	if err := s.mergeTx(ctx); err != nil {
		s.runs = nil // read again at the next sync
		s.log.Warn("merge of event ids failed", "error", err)
	}
}

func (s *Store) mergeTx(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin merge: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	q := s.in(tx)
	if err := s.sync(ctx, q); err != nil {
		return err
	}
	if len(s.pending) < s.mergeEvery {
		return nil // another process merged them
	}
	entries := make([]idEntry, 0, len(s.pending))
	for id, l := range s.pending {
		entries = append(entries, idEntry{id, l})
	}
	entries = sortByID(entries, make([]idEntry, len(entries)))
	runs := slices.Clone(s.runs)
	next := int64(1)
	if len(runs) > 0 {
		next = runs[len(runs)-1].run + 1
	}
	r, err := writeRun(ctx, q, next, entries)
	if err != nil {
		return err
	}
	runs = append(runs, r)
	// Runs of one size tier are merged once there are mergeFanIn of them.
	for {
		k := len(runs) - 1
		t := tier(runs[k].n, s.mergeEvery)
		for k > 0 && tier(runs[k-1].n, s.mergeEvery) == t {
			k--
		}
		if len(runs)-k < mergeFanIn {
			break
		}
		next++
		m, err := mergeRuns(ctx, q, runs[k:], next)
		if err != nil {
			return err
		}
		runs = append(runs[:k], m)
	}
	if _, err := tx.ExecContext(ctx, "UPDATE id_state SET merged = ?, version = version + 1", s.lastSeq); err != nil {
		return fmt.Errorf("record merge: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit merge: %w", err)
	}
	s.log.Debug("event ids merged", "count", len(s.pending), "runs", len(runs))
	clear(s.pending)
	s.merged = s.lastSeq
	s.version++
	s.runs = runs
	return nil
}
