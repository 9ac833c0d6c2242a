package sqlite

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
)

// Search returns at most q.Limit events matching q, sorted by (event_time,
// event_id) in q.Order, strictly after q.After when it is set. Names, Types
// and UserUIDs each match any of their values; different filters must all
// match. Start is inclusive, End exclusive. Errors from the database,
// including a Store that is not open, wrap [outputs.ErrUnavailable].
//
// It reads the blocks whose time range meets q's in the order of their
// latest event_time (earliest for Asc), only those whose keys hold a value
// of each filter of q, and stops at the first block that cannot hold an
// event before the q.Limit-th found. All of it is one read transaction.
func (s *Store) Search(ctx context.Context, q outputs.Query) ([]event.Event, error) {
	if q.Limit <= 0 {
		return []event.Event{}, nil
	}
	query, args, lo, hi := buildSearch(q)
	if lo > hi {
		return []event.Event{}, nil
	}
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
	m := newMatcher(q, lo, hi)
	var found []*blockEvent
	for rows.Next() {
		var seq, minT, maxT int64
		var b []byte
		if err := rows.Scan(&seq, &minT, &maxT, &b); err != nil {
			return nil, fmt.Errorf("search sqlite: %w: %w", outputs.ErrUnavailable, err)
		}
		if len(found) == q.Limit {
			worst := found[len(found)-1].Time
			if q.Order == outputs.Asc && minT > worst || q.Order != outputs.Asc && maxT < worst {
				break
			}
		}
		evs, err := decodeBlock(b)
		if err != nil {
			return nil, fmt.Errorf("search sqlite: block %d: %w", seq, err)
		}
		n := len(found)
		for _, e := range evs {
			if e != nil && m.match(e) {
				found = append(found, e)
			}
		}
		if len(found) > n {
			slices.SortFunc(found, m.compare)
			found = found[:min(len(found), q.Limit)]
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("search sqlite: %w: %w", outputs.ErrUnavailable, err)
	}
	out := make([]event.Event, 0, len(found))
	for _, b := range found {
		e, err := b.event()
		if err != nil {
			return nil, fmt.Errorf("search sqlite: %w", err)
		}
		out = append(out, e)
	}
	return out, nil
}

// matcher tests the events of a block against a query.
type matcher struct {
	q      outputs.Query
	lo, hi int64 // event_time bounds, inclusive, nanoseconds
	names  map[string]bool
	types  map[string]bool
	users  map[int64]bool
}

func newMatcher(q outputs.Query, lo, hi int64) *matcher {
	m := &matcher{q: q, lo: lo, hi: hi}
	if len(q.Names) > 0 {
		m.names = make(map[string]bool)
		for _, v := range q.Names {
			m.names[v] = true
		}
	}
	if len(q.Types) > 0 {
		m.types = make(map[string]bool)
		for _, v := range q.Types {
			m.types[v] = true
		}
	}
	if len(q.UserUIDs) > 0 {
		m.users = make(map[int64]bool)
		for _, v := range q.UserUIDs {
			m.users[v] = true
		}
	}
	return m
}

func (m *matcher) match(e *blockEvent) bool {
	if e.Time < m.lo || e.Time > m.hi {
		return false
	}
	if m.names != nil && !m.names[e.Name] || m.types != nil && !m.types[e.Type] || m.users != nil && !m.users[e.UserUID] {
		return false
	}
	if a := m.q.After; a != nil {
		c := cmp.Or(cmp.Compare(e.Time, clampNanos(a.Time)), cmp.Compare(e.ID, a.ID))
		if m.q.Order == outputs.Asc && c <= 0 || m.q.Order != outputs.Asc && c >= 0 {
			return false
		}
	}
	return true
}

// compare orders events as q.Order asks, on (event_time, event_id).
func (m *matcher) compare(a, b *blockEvent) int {
	c := cmp.Or(cmp.Compare(a.Time, b.Time), cmp.Compare(a.ID, b.ID))
	if m.q.Order != outputs.Asc {
		return -c
	}
	return c
}

// buildSearch turns q into the SQL that lists the candidate blocks, its
// arguments, and the inclusive event_time bounds lo and hi (nanoseconds)
// that q and its cursor allow. Only placeholders carry values; the SQL text
// depends only on which filter is used and how many values it has.
func buildSearch(q outputs.Query) (query string, args []any, lo, hi int64) {
	lo, hi = math.MinInt64, math.MaxInt64
	if !q.Start.IsZero() {
		lo = clampNanos(q.Start)
	}
	if !q.End.IsZero() {
		end := clampNanos(q.End)
		if end == math.MinInt64 {
			return "", nil, 1, 0 // nothing is before the earliest time
		}
		hi = end - 1
	}
	if a := q.After; a != nil {
		if q.Order == outputs.Asc {
			lo = max(lo, clampNanos(a.Time))
		} else {
			hi = min(hi, clampNanos(a.Time))
		}
	}
	// The scan of a time index is bounded on both sides: no block is wider
	// than id_state's span, so one that meets [lo, hi] has its min_time at
	// or after lo - span and its max_time at or before hi + span. Without
	// that bound a page deep into the store would scan every block before
	// it. A span of MaxInt64 stands for a block wider than int64 can say
	// (see blockWriter.span): no bound then. Past the int64 range SQLite
	// computes a bound as a REAL, which still compares right.
	var b strings.Builder
	if q.Order == outputs.Asc {
		b.WriteString("SELECT seq, min_time, max_time, events FROM blocks INDEXED BY blocks_min_time WHERE max_time >= ? AND min_time <= ?")
		args = append(args, lo, hi)
		if lo != math.MinInt64 {
			b.WriteString(" AND min_time >= (SELECT CASE span WHEN 9223372036854775807 THEN -9223372036854775808 ELSE ? - span END FROM id_state)")
			args = append(args, lo)
		}
	} else {
		b.WriteString("SELECT seq, min_time, max_time, events FROM blocks INDEXED BY blocks_max_time WHERE max_time >= ? AND min_time <= ?")
		args = append(args, lo, hi)
		if hi != math.MaxInt64 {
			b.WriteString(" AND max_time <= (SELECT CASE span WHEN 9223372036854775807 THEN 9223372036854775807 ELSE ? + span END FROM id_state)")
			args = append(args, hi)
		}
	}
	// A block may hold an event of each filter only if its keys hold one
	// of the filter's values.
	in := func(keys [][]byte) {
		b.WriteString(" AND (")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(" OR ")
			}
			b.WriteString("instr(keys, ?) > 0")
			args = append(args, keySep+string(k)+keySep)
		}
		b.WriteString(")")
	}
	if len(q.Names) > 0 {
		keys := make([][]byte, len(q.Names))
		for i, v := range q.Names {
			keys[i] = appendKey(nil, 'n', v, 0)
		}
		in(keys)
	}
	if len(q.Types) > 0 {
		keys := make([][]byte, len(q.Types))
		for i, v := range q.Types {
			keys[i] = appendKey(nil, 'y', v, 0)
		}
		in(keys)
	}
	if len(q.UserUIDs) > 0 {
		keys := make([][]byte, len(q.UserUIDs))
		for i, v := range q.UserUIDs {
			keys[i] = appendKey(nil, 'u', "", v)
		}
		in(keys)
	}
	if q.Order == outputs.Asc {
		b.WriteString(" ORDER BY min_time ASC")
	} else {
		b.WriteString(" ORDER BY max_time DESC")
	}
	return b.String(), args, lo, hi
}
