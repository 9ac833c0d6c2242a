package json

import (
	"bytes"
	encjson "encoding/json"
	"fmt"
	"runtime"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/parsers"
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

// TestBox_SurvivesGC decodes many lines, lets the garbage collector run
// while only the records keep the slabs of boxed headers alive, and checks
// every value against encoding/json afterwards.
func TestBox_SurvivesGC(t *testing.T) {
	t.Parallel()
	d := mustNew(t, DefaultConfig())
	var lines [][]byte
	var recs []parsers.Record
	for i := range 5000 {
		l := fmt.Appendf(nil, `{"s":"v%d","n":%d.5,"a":["x%d",%d,{"k":"y%d"}],"o":{"p":"q%d","e":""}}`, i, i, i, i, i, i)
		rec, err := d.Decode(l)
		if err != nil {
			t.Fatal(err)
		}
		lines, recs = append(lines, l), append(recs, rec)
		if i%500 == 0 {
			runtime.GC()
		}
	}
	runtime.GC()
	for i, l := range lines {
		var want parsers.Record
		dec := encjson.NewDecoder(bytes.NewReader(l))
		dec.UseNumber()
		if err := dec.Decode(&want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, recs[i]); diff != "" {
			t.Fatalf("line %d (-want +got):\n%s", i, diff)
		}
	}
}
