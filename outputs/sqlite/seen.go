package sqlite

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/bits-and-blooms/bloom/v3"
)

// Sizes of the Store's filter of stored event_ids.
const (
	seenFP      = 0.05    // false positive rate at capacity
	seenMinCap  = 1 << 20 // ids the filter is sized for at least (about 0.8 MiB)
	seenMaxCap  = 1 << 23 // and at most (about 6.2 MiB): past it false positives grow
	seenSyncMax = 1 << 17 // events of another process a sync adds one by one; more drop the filter
)

// seenFilter is a Bloom filter of the event_ids stored in the table. An id
// it does not hold is not stored, so Write looks up in event_ids only the
// ids it may hold: most of a backfill's are new. It holds every id of
// event_ids and Store.pending (and those of deleted events, which only cost
// a lookup). Not safe for concurrent use; the Store's writer owns it.
type seenFilter struct {
	f      *bloom.BloomFilter
	n      uint // ids added
	cap    uint // ids it was sized for
	maxCap uint // the most ids a filter is sized for
}

// newSeenFilter returns an empty filter sized for 2n ids, within
// [minCap, maxCap].
func newSeenFilter(n, minCap, maxCap uint) *seenFilter {
	c := min(max(2*n, minCap), maxCap)
	return &seenFilter{f: bloom.NewWithEstimates(c, seenFP), cap: c, maxCap: maxCap}
}

func (f *seenFilter) add(id int64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(id))
	f.f.Add(b[:])
	f.n++
}

// mayHave reports whether id may be stored; false means it is not.
func (f *seenFilter) mayHave(id int64) bool {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(id))
	return f.f.Test(b[:])
}

// full reports whether f holds more ids than it was sized for and a larger
// filter may be built.
func (f *seenFilter) full() bool { return f.n > f.cap && f.cap < f.maxCap }

// buildSeen sets s.seen to a filter of the ids in event_ids and s.pending,
// sized for twice as many. It reads all of event_ids: about 0.3 s per
// million events.
func (s *Store) buildSeen(ctx context.Context, q querier) error {
	var n int64
	if err := q.QueryRowContext(ctx, "SELECT count(*) FROM event_ids").Scan(&n); err != nil {
		return fmt.Errorf("count merged ids: %w", err)
	}
	f := newSeenFilter(uint(n)+uint(len(s.pending)), s.seenCaps[0], s.seenCaps[1])
	rows, err := q.QueryContext(ctx, "SELECT event_id FROM event_ids")
	if err != nil {
		return fmt.Errorf("read merged ids: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return fmt.Errorf("read merged ids: %w", err)
		}
		f.add(id)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read merged ids: %w", err)
	}
	for id := range s.pending {
		f.add(id)
	}
	s.seen = f
	return nil
}
