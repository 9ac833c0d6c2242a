package jsonenc

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// samples are JSON-shaped values as decoders produce them, and a few others.
func samples() []any {
	return []any{
		nil, "", true, false, json.Number("0"), json.Number(""), json.Number("-0"), json.Number("1.50"),
		json.Number("123456789012345678901234567890"), json.Number("-5.5e+3"), json.Number("1E-7"),
		int64(-7), 3, 1.5, []any{}, []any(nil), map[string]any{}, map[string]any(nil),
		"x<y>&\"\\\n\u2028\u2029é\xff\x00\x1f\x7f 日本",
		map[string]any{"b": json.Number("1.50"), "a": "x<y>&", "c": []any{true, nil, json.Number("-0"), "s"}},
		map[string]any{"nested": map[string]any{"z": json.Number("1e2"), "y": map[string]any{}}, "int": int64(-7), "i": 3, "f": 1.5},
		map[string]any{"": 1, "\xff": 2, "\ufffd": 3, "<": 4, "a\nb": 5, "é": 6, "e": 7, "E": 8},
		map[string]any{"nil list": []any(nil), "nil map": map[string]any(nil), "empty": json.Number("")},
		[]any{map[string]any{"k": []any{map[string]any{}}}, []string{"a<"}, struct{ A int }{1}},
	}
}

func TestAppendValue_MatchesMarshal(t *testing.T) {
	t.Parallel()
	for _, v := range samples() {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("json.Marshal(%#v): %v", v, err)
		}
		got, err := AppendValue([]byte("prefix"), v)
		if err != nil {
			t.Fatalf("AppendValue(%#v): %v", v, err)
		}
		if string(got) != "prefix"+string(want) {
			t.Errorf("AppendValue(%#v):\nwant prefix%s\ngot  %s", v, want, got)
		}
		if m, ok := v.(map[string]any); ok {
			got, err := AppendObject(nil, m)
			if err != nil || string(got) != string(want) {
				t.Errorf("AppendObject(%#v) = %s, %v, want %s", m, got, err, want)
			}
		}
	}
}

func TestAppendObject_LargeObjects(t *testing.T) {
	t.Parallel()
	for _, n := range []int{15, 16, 17, 40} {
		d := map[string]any{}
		for i := range n {
			d["k"+strconv.Itoa(i*7919%1000)] = []any{json.Number(strconv.Itoa(i)), map[string]any{"<" + strconv.Itoa(n-i): "v&"}}
		}
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		got, err := AppendObject(nil, d)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%d keys:\nwant %s\ngot  %s", n, want, got)
		}
	}
}

func TestAppendValue_Errors(t *testing.T) {
	t.Parallel()
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	list := []any{nil}
	list[0] = list
	for _, v := range []any{
		json.Number("1x"), json.Number("01"), json.Number("1."), json.Number("1e+"), json.Number("+1"),
		map[string]any{"n": []any{json.Number("NaN")}}, make(chan int), map[string]any{"c": func() {}},
		cyclic, list,
	} {
		_, werr := json.Marshal(v)
		_, gerr := AppendValue(nil, v)
		if werr == nil || gerr == nil || werr.Error() != gerr.Error() {
			t.Errorf("%T: AppendValue error %v, want encoding/json's %v", v, gerr, werr)
		}
	}
}

func TestAppendValue_Deep(t *testing.T) {
	t.Parallel()
	var v any = "leaf"
	for i := range 3 * maxDepth {
		if i%2 == 0 {
			v = []any{v}
		} else {
			v = map[string]any{"k": v}
		}
	}
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := AppendValue(nil, v)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("AppendValue of %d levels = %.40s..., %v; want encoding/json's %.40s...", 3*maxDepth, got, err, want)
	}
}

func TestAppendString_AllBytes(t *testing.T) {
	t.Parallel()
	const base = "abcdefghijklmnopqrstuvwx"
	for c := range 256 {
		for i := range len(base) {
			for _, s := range []string{base[:i] + string([]byte{byte(c)}) + base[i+1:], base[:i] + string(rune(c)) + base[i:]} {
				want, _ := json.Marshal(s)
				if got := AppendString(nil, s); string(got) != string(want) {
					t.Errorf("AppendString(%q) = %s, want %s", s, got, want)
				}
			}
		}
	}
}

// FuzzAppendString: AppendString writes what encoding/json writes.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "<&>", "\xff", "\u2028", "a\"b\\c\n", "日本", "\x7f", "12345678<", "abcdefgh\x1f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, err := json.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := AppendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Fatalf("AppendString(%q) = %s, want x%s", s, got, want)
		}
	})
}

// FuzzAppendValue: for any JSON document decoded as the parsers decode it
// (numbers as json.Number), and for objects with arbitrary keys, strings and
// number literals, AppendValue writes what encoding/json writes or fails as
// it does.
func FuzzAppendValue(f *testing.F) {
	f.Add([]byte(`{"b":[1,2.5e3,"x<y>",null,true],"a":{"z":{},"y":[]}}`), "key", "12.5e-3")
	f.Add([]byte(`"\ud800"`), "\xff", "1x")
	f.Add([]byte(`[`+strings.Repeat(`{"k":`, 20)+`0`+strings.Repeat(`}`, 20)+`]`), "", "")
	f.Fuzz(func(t *testing.T, doc []byte, s, num string) {
		values := []any{map[string]any{s: s, "n": json.Number(num), "l": []any{s, map[string]any{s: json.Number(num)}}}}
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) == nil {
			values = append(values, v)
		}
		for _, v := range values {
			want, werr := json.Marshal(v)
			got, gerr := AppendValue(nil, v)
			if (werr != nil) != (gerr != nil) || werr != nil && werr.Error() != gerr.Error() {
				t.Fatalf("errors differ: encoding/json %v, AppendValue %v", werr, gerr)
			}
			if werr == nil && !bytes.Equal(got, want) {
				t.Fatalf("encoding differs:\nwant %s\ngot  %s", want, got)
			}
		}
	})
}
