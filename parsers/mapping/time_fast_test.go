package mapping

import (
	"testing"
	"time"
)

func TestParseUTCFast(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"2026-11-28T00:00:00Z", true},
		{"2026-11-28T00:00:00.000200Z", true},
		{"2026-11-28T23:59:59.123456789Z", true},
		{"2024-02-29T12:00:00.5Z", true},
		{"0001-01-01T00:00:00Z", true},
		{"2023-02-29T12:00:00Z", false}, // not a leap year
		{"1900-02-29T12:00:00Z", false},
		{"2000-02-29T12:00:00Z", true},
		{"2026-13-01T00:00:00Z", false},
		{"2026-00-01T00:00:00Z", false},
		{"2026-04-31T00:00:00Z", false},
		{"2026-11-28T24:00:00Z", false},
		{"2026-11-28T00:60:00Z", false},
		{"2026-11-28T00:00:60Z", false},
		{"2026-11-28T00:00:00.Z", false},
		{"2026-11-28T00:00:00.1234567890Z", false}, // 10 digits: the general parser decides
		{"2026-11-28t00:00:00Z", false},
		{"2026-11-28T00:00:00z", false},
		{"2026-11-28 00:00:00Z", false},
		{"2026-11-28T00:00:00+00:00", false},
		{"2026-11-28T0a:00:00Z", false},
		{"+026-11-28T00:00:00Z", false},
		{"2026-11-28T00:00:00.-1Z", false},
	} {
		got, ok := parseUTCFast(tc.in)
		if ok != tc.ok {
			t.Errorf("parseUTCFast(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			continue
		}
		if !ok {
			continue
		}
		want, err := time.Parse(time.RFC3339Nano, tc.in)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseUTCFast(%q) = %v, time.Parse = %v, %v", tc.in, got, want, err)
		}
	}
}

// FuzzParseUTCFast checks that whatever the fast path accepts, time.Parse
// accepts too, with the same instant, in UTC.
func FuzzParseUTCFast(f *testing.F) {
	for _, s := range []string{"2026-11-28T00:00:00.000200Z", "2024-02-29T23:59:59Z", "2026-11-28T00:00:00.123456789Z", "9999-12-31T23:59:59.999999999Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseUTCFast(s)
		if !ok {
			return
		}
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatalf("fast path accepted %q, time.Parse: %v", s, err)
		}
		if !got.Equal(want) || got.Location() != time.UTC || want.UTC() != got {
			t.Fatalf("%q: fast %v, time.Parse %v", s, got, want)
		}
	})
}
