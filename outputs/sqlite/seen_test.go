package sqlite

import (
	"math/rand/v2"
	"testing"
)

func TestSeenFilter_NoFalseNegatives(t *testing.T) {
	t.Parallel()
	const n = 1 << 16
	f := newSeenFilter(n/2, 0, 1<<30) // sized for n
	r := rand.New(rand.NewPCG(3, 4))
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(r.Uint64() >> 1)
		f.add(ids[i])
	}
	for _, id := range ids {
		if !f.mayHave(id) {
			t.Fatalf("id %d added but not held", id)
		}
	}
	fp := 0
	for range n {
		if f.mayHave(int64(r.Uint64() >> 1)) {
			fp++
		}
	}
	if rate := float64(fp) / n; rate > 2*seenFP {
		t.Errorf("false positive rate %.3f at capacity, want about %.2f", rate, seenFP)
	}
	if f.full() {
		t.Error("full() at capacity, want only past it")
	}
	f.add(1)
	if !f.full() {
		t.Error("full() = false past capacity")
	}
}

// TestStore_SeenFilterPaths runs the id checks of checkIDs with the filter
// rebuilt as it fills up, and with it dropped because another process
// stored more events than a sync adds to it one by one.
func TestStore_SeenFilterPaths(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var st [2]*Store
	for i := range st {
		st[i] = openWriter(t, dir, func(s *Store) {
			s.seenCaps = [2]uint{4, 64}
			s.seenSync = 10
			s.mergeEvery = 7
		})
	}
	a, b := st[0], st[1]
	evs := makeEvents(120)
	// a fills its filter past 4, 8, 16, 32 and 64 ids: rebuilt each time
	// up to 64, then kept (more false positives, still no misses).
	for i := 0; i < 100; i += 5 {
		if err := a.Write(t.Context(), evs[i:i+5]); err != nil {
			t.Fatal(err)
		}
	}
	if a.seen == nil || a.seen.cap != 64 || a.seen.n < 100 {
		t.Fatalf("a's filter: %+v, want sized for 64 ids holding at least 100", a.seen)
	}
	checkIDs(t, a, evs[:100], evs[:100])
	// b wrote nothing since its Open: its sync reads a's 100 events, more
	// than 10, and drops its filter; b still finds every id.
	checkIDs(t, b, evs[:100], evs[:100])
	if b.seen != nil {
		t.Errorf("b's filter kept after a sync of 100 events, want dropped")
	}
	// a's sync adds b's few events (the checks stored none) and a's next
	// writes go on with its filter.
	if err := b.Write(t.Context(), evs[100:106]); err != nil {
		t.Fatal(err)
	}
	checkIDs(t, a, evs[:106], evs[:106])
	if a.seen == nil {
		t.Error("a's filter dropped after a sync of 6 events, want kept")
	}
	if err := a.Write(t.Context(), evs[106:120]); err != nil {
		t.Fatal(err)
	}
	checkIDs(t, b, evs, evs)
	checkIDs(t, a, evs, evs)
}
