package file

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/auditship/auditship/event"
)

func TestAppendTime_MatchesAppendFormat(t *testing.T) {
	t.Parallel()
	times := []time.Time{
		{}, time.Unix(0, 0), time.Unix(-1, 999_999_999), time.Unix(-86400, 0), time.Unix(-86401, 1000),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-1, 12, 31, 23, 59, 59, 999_999_999, time.UTC), time.Date(-400, 2, 29, 1, 2, 3, 4, time.UTC),
		time.Date(1600, 2, 29, 12, 0, 0, 0, time.UTC), time.Date(1900, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 23, 59, 59, 999_999_999, time.UTC), time.Date(2024, 12, 31, 23, 59, 59, 999_999, time.UTC),
		time.Date(2026, 11, 28, 9, 12, 1, 123456789, time.FixedZone("x", 3600)),
		time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(292277026596, 12, 4, 15, 30, 7, 0, time.UTC),
		time.Now(),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		// Seconds from about year -3000 to 12000.
		sec := r.Int64N(470_000_000_000) - 157_000_000_000
		times = append(times, time.Unix(sec, r.Int64N(1e9)))
	}
	for _, tm := range times {
		want := tm.UTC().Format(event.TimeLayout)
		if got := string(appendTime(nil, tm)); got != want {
			t.Fatalf("appendTime(%v) = %s, want %s", tm, got, want)
		}
	}
}

func FuzzAppendTime(f *testing.F) {
	f.Add(int64(0), int64(0))
	f.Add(int64(-62135596800), int64(1))
	f.Fuzz(func(t *testing.T, sec, nsec int64) {
		tm := time.Unix(sec, nsec)
		want := tm.UTC().Format(event.TimeLayout)
		if got := string(appendTime(nil, tm)); got != want {
			t.Fatalf("appendTime(%v) = %s, want %s", tm, got, want)
		}
	})
}
