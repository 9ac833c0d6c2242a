package jsonstr

import (
	"encoding/json"
	"testing"
)

func TestAppend(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "plain", `a"b\c`, "<&>", "\n\r\t\b\f\x00\x1f", "\xff\xfe", "\u2028\u2029", "日本語", "a\xffb"} {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := Append([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("Append(%q) = %s, want %s", s, got[1:], want)
		}
	}
}

// FuzzAppend: Append writes what encoding/json writes, byte for byte.
func FuzzAppend(f *testing.F) {
	for _, s := range []string{"", "plain", "<&>", "\xff", "\u2028", "a\"b\\c\n", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := Append(nil, s); string(got) != string(want) {
			t.Fatalf("Append(%q) = %s, want %s", s, got, want)
		}
	})
}
