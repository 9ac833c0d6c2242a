package sqlite

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/bits"
)

// Sizes of the Store's filter of stored event_ids.
const (
	seenBits    = 12      // bits of filter per id it is sized for
	seenFP      = 0.012   // about the false positive rate at capacity (1.15% measured for 1M ids)
	seenMinCap  = 1 << 20 // ids the filter is sized for at least (1.5 MiB)
	seenMaxCap  = 1 << 23 // and at most (12 MiB): past it false positives grow
	seenSyncMax = 1 << 17 // events of another process a sync adds one by one; more drop the filter
)

// seenFilter is a Bloom filter of the event_ids stored. An id it does not
// hold is not stored, so Write looks up in id_chunks only the ids it may
// hold: most of a backfill's are new. It holds every id of id_chunks and
// Store.pending (and those of deleted events, which only cost a lookup).
//
// It is register-blocked (Putze, Sanders and Singler, "Cache-, Hash- and
// Space-Efficient Bloom Filters", 2007): an id sets 4 bits of one 64-bit
// word, so adding or testing costs one hash and one memory access, where a
// classic filter (bits-and-blooms/bloom, used here before) costs k hashes
// and k cache misses, about 0.5 µs an id on a backfill. The price is a
// somewhat higher false positive rate for the same size. Not safe for
// concurrent use; the Store's writer owns it.
type seenFilter struct {
	words  []uint64
	n      uint // ids added
	cap    uint // ids it was sized for
	maxCap uint // the most ids a filter is sized for
}

// newSeenFilter returns an empty filter sized for 2n ids, within
// [minCap, maxCap].
func newSeenFilter(n, minCap, maxCap uint) *seenFilter {
	c := min(max(2*n, minCap), maxCap)
	return &seenFilter{words: make([]uint64, max(1, c*seenBits/64)), cap: c, maxCap: maxCap}
}

// probe returns the word of id and the 4 bits it sets in it. The hash is
// the finaliser of MurmurHash3 (fmix64): platform ids count up, so their
// bits must be mixed.
func (f *seenFilter) probe(id int64) (*uint64, uint64) {
	h := uint64(id)
	h ^= h >> 33
	h *= 0xff51afd7ed558ccd
	h ^= h >> 33
	h *= 0xc4ceb9fe1a85ec53
	h ^= h >> 33
	i, _ := bits.Mul64(h, uint64(len(f.words))) // the high bits pick the word
	m := uint64(1)<<(h&63) | uint64(1)<<(h>>6&63) | uint64(1)<<(h>>12&63) | uint64(1)<<(h>>18&63)
	return &f.words[i], m
}

func (f *seenFilter) add(id int64) {
	w, m := f.probe(id)
	*w |= m
	f.n++
}

// mayHave reports whether id may be stored; false means it is not.
func (f *seenFilter) mayHave(id int64) bool {
	w, m := f.probe(id)
	return *w&m == m
}

// full reports whether f holds more ids than it was sized for and a larger
// filter may be built.
func (f *seenFilter) full() bool { return f.n > f.cap && f.cap < f.maxCap }

// buildSeen sets s.seen to a filter of the ids in id_chunks and s.pending,
// sized for twice as many. It reads all of id_chunks: 16 bytes per stored
// event.
func (s *Store) buildSeen(ctx context.Context, q querier) error {
	var n int
	for _, r := range s.runs {
		n += r.n
	}
	f := newSeenFilter(uint(n)+uint(len(s.pending)), s.seenCaps[0], s.seenCaps[1])
	rows, err := q.QueryContext(ctx, "SELECT entries FROM id_chunks")
	if err != nil {
		return fmt.Errorf("read merged ids: %w", err)
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return fmt.Errorf("read merged ids: %w", err)
		}
		for i := 0; i+16 <= len(b); i += 16 {
			f.add(int64(binary.LittleEndian.Uint64(b[i:])))
		}
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
