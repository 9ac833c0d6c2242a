package json

import (
	"testing"
	"unicode/utf8"
)

// TestPlain checks the 8-byte scan against the byte-at-a-time rule for every
// byte value at every position of a word, after every other byte value in
// front of it (the borrows of the SWAR arithmetic run upwards).
func TestPlain(t *testing.T) {
	t.Parallel()
	special := func(c byte) bool { return c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf }
	want := func(b []byte) int {
		for i, c := range b {
			if special(c) {
				return i
			}
		}
		return len(b) &^ 7 // plain stops where fewer than 8 bytes are left
	}
	buf := make([]byte, 16)
	for first := range 256 {
		for second := range 256 {
			for pos := range 7 {
				for i := range buf {
					buf[i] = 'a'
				}
				buf[pos], buf[pos+1] = byte(first), byte(second)
				s := scanner{b: buf}
				s.plain()
				if w := want(buf); s.i != w {
					t.Fatalf("bytes %#x %#x at %d: plain stopped at %d, want %d", first, second, pos, s.i, w)
				}
			}
		}
	}
}
