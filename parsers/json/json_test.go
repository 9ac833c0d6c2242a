package json

import (
	"bytes"
	encjson "encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/parsers"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	noExpand := DefaultConfig()
	noExpand.ExpandDottedKeys = false
	tests := []struct {
		name    string
		cfg     Config
		line    string
		want    parsers.Record
		wantErr string // substring; "" means success
		skip    bool
	}{
		{name: "big integers exact", cfg: DefaultConfig(),
			line: `{"a":9007199254740993,"b":2882429806056571124,"c":-1.5e-300}`,
			want: parsers.Record{"a": encjson.Number("9007199254740993"), "b": encjson.Number("2882429806056571124"), "c": encjson.Number("-1.5e-300")}},
		{name: "duplicate keys last wins", cfg: DefaultConfig(),
			line: `{"a":1,"a":{"x":true},"a":"last"}`, want: parsers.Record{"a": "last"}},
		{name: "dotted merges into object", cfg: DefaultConfig(),
			line: `{"user.name":"x","user":{"id":1}}`,
			want: parsers.Record{"user": map[string]any{"id": encjson.Number("1"), "name": "x"}}},
		{name: "dotted blocked by scalar", cfg: DefaultConfig(),
			line: `{"user":"bob","user.name":"x"}`, want: parsers.Record{"user": "bob", "user.name": "x"}},
		{name: "dotted blocked by existing leaf", cfg: DefaultConfig(),
			line: `{"user.id":2,"user":{"id":1}}`,
			want: parsers.Record{"user": map[string]any{"id": encjson.Number("1")}, "user.id": encjson.Number("2")}},
		{name: "dotted chain in byte order", cfg: DefaultConfig(),
			line: `{"a.b.c":1,"a.b":2}`, want: parsers.Record{"a": map[string]any{"b": encjson.Number("2")}, "a.b.c": encjson.Number("1")}},
		{name: "dotted object value merged", cfg: DefaultConfig(),
			line: `{"a.b.c":1,"a.b":{"d":2}}`,
			want: parsers.Record{"a": map[string]any{"b": map[string]any{"c": encjson.Number("1"), "d": encjson.Number("2")}}}},
		{name: "empty segments kept literal", cfg: DefaultConfig(),
			line: `{"a..b":1,".a":2,"a.":3,".":4}`,
			want: parsers.Record{"a..b": encjson.Number("1"), ".a": encjson.Number("2"), "a.": encjson.Number("3"), ".": encjson.Number("4")}},
		{name: "nested dotted keys untouched", cfg: DefaultConfig(),
			line: `{"annotations":{"authorization.k8s.io/decision":"allow"}}`,
			want: parsers.Record{"annotations": map[string]any{"authorization.k8s.io/decision": "allow"}}},
		{name: "expansion off", cfg: noExpand,
			line: `{"user.name":"x","user":{"id":1}}`,
			want: parsers.Record{"user.name": "x", "user": map[string]any{"id": encjson.Number("1")}}},
		{name: "escapes and surrogates", cfg: DefaultConfig(),
			line: `{"s":"\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00\ud800x"}`,
			want: parsers.Record{"s": "\"\\/\b\f\n\r\té😀\uFFFDx"}},
		{name: "bom and crlf", cfg: DefaultConfig(), line: "\xEF\xBB\xBF{\"a\":null}\r", want: parsers.Record{"a": nil}},
		{name: "blank", cfg: DefaultConfig(), line: "", skip: true},
		{name: "whitespace", cfg: DefaultConfig(), line: " \t\r", skip: true},
		{name: "array top level", cfg: DefaultConfig(), line: `[1]`, wantErr: "invalid JSON at byte 0: top-level value is not an object"},
		{name: "trailing data", cfg: DefaultConfig(), line: `{} {}`, wantErr: "invalid JSON at byte 3: unexpected '{' after the top-level object"},
		{name: "truncated", cfg: DefaultConfig(), line: `{"a":[1,2`, wantErr: "invalid JSON at byte 9: unexpected end of line in array"},
		{name: "bad number", cfg: DefaultConfig(), line: `{"a":01}`, wantErr: "invalid JSON at byte 6: unexpected '1' after object value"},
		{name: "invalid utf-8", cfg: DefaultConfig(), line: "{\"a\":\"\xff\"}", wantErr: "invalid JSON at byte 6: invalid UTF-8 in string"},
		{name: "raw control char", cfg: DefaultConfig(), line: "{\"a\":\"\x01\"}", wantErr: "control character"},
		{name: "plain text", cfg: DefaultConfig(), line: `hello`, wantErr: "invalid JSON at byte 0: not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := mustNew(t, tt.cfg).Decode([]byte(tt.line))
			switch {
			case tt.skip:
				if !errors.Is(err, parsers.ErrSkip) {
					t.Fatalf("Decode() error = %v, want ErrSkip", err)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errors.Is(err, parsers.ErrSkip) {
					t.Fatalf("Decode() error = %v, want one containing %q", err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatalf("Decode() error = %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("Decode() mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestDecode_DoesNotAliasLine(t *testing.T) {
	t.Parallel()
	line := []byte(`{"k":"value","user.name":"x","e":"a\u00e9"}`)
	rec, err := mustNew(t, DefaultConfig()).Decode(line)
	if err != nil {
		t.Fatal(err)
	}
	want := roundTrip(t, rec)
	for i := range line {
		line[i] = 'X'
	}
	if diff := cmp.Diff(want, rec); diff != "" {
		t.Errorf("record changed with the line (-want +got):\n%s", diff)
	}
}

func FuzzDecode(f *testing.F) {
	for _, line := range caseLines(f) {
		f.Add(line)
	}
	expand := mustNew(f, DefaultConfig())
	noExpandCfg := DefaultConfig()
	noExpandCfg.ExpandDottedKeys = false
	literal := mustNew(f, noExpandCfg)
	f.Fuzz(func(t *testing.T, line []byte) {
		for _, d := range []*Decoder{expand, literal} {
			rec, err := d.Decode(line)
			if err != nil {
				if rec != nil {
					t.Fatalf("Decode() returned a record with error %v", err)
				}
				continue
			}
			if diff := cmp.Diff(rec, roundTrip(t, rec)); diff != "" {
				t.Fatalf("record changed in a JSON round trip (-decoded +round-tripped):\n%s", diff)
			}
		}
		// Differential check against encoding/json on what both accept.
		trimmed := bytes.TrimSpace(line)
		if !utf8.Valid(line) || len(trimmed) == 0 || bytes.HasPrefix(line, bom) || string(trimmed) == "null" {
			return
		}
		rec, err := literal.Decode(line)
		var std parsers.Record
		dec := encjson.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		stdErr := dec.Decode(&std)
		if stdErr == nil {
			if _, e := dec.Token(); e != io.EOF {
				stdErr = errors.New("trailing data")
			}
		}
		if (err == nil) != (stdErr == nil) {
			t.Fatalf("Decode() error = %v, encoding/json error = %v", err, stdErr)
		}
		if err == nil {
			if diff := cmp.Diff(std, rec); diff != "" {
				t.Fatalf("Decode() differs from encoding/json (-std +got):\n%s", diff)
			}
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	lines := [][]byte{}
	for _, p := range []string{
		"testdata/real/vault-audit/input.log",
		"testdata/real/teleport-audit/input.log",
		"testdata/real/gitlab-application/input.log",
	} {
		in, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		lines = append(lines, splitLines(in)...)
	}
	var size int64
	for _, l := range lines {
		size += int64(len(l))
	}
	d := mustNew(b, DefaultConfig())
	b.SetBytes(size / int64(len(lines)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := d.Decode(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkDecode_EncodingJSON is the reference: encoding/json with UseNumber
// over the same lines.
func BenchmarkDecode_EncodingJSON(b *testing.B) {
	var lines [][]byte
	for _, p := range []string{
		"testdata/real/vault-audit/input.log",
		"testdata/real/teleport-audit/input.log",
		"testdata/real/gitlab-application/input.log",
	} {
		in, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		lines = append(lines, splitLines(in)...)
	}
	var size int64
	for _, l := range lines {
		size += int64(len(l))
	}
	b.SetBytes(size / int64(len(lines)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		dec := encjson.NewDecoder(bytes.NewReader(lines[i%len(lines)]))
		dec.UseNumber()
		var rec parsers.Record
		if err := dec.Decode(&rec); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// caseLines returns the lines of every golden case's input.log, the fuzz
// targets' seed corpus.
func caseLines(tb testing.TB) [][]byte {
	tb.Helper()
	var out [][]byte
	for _, dir := range caseDirs(tb) {
		b, err := os.ReadFile(filepath.Join(dir, "input.log"))
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, splitLines(b)...)
	}
	return out
}
