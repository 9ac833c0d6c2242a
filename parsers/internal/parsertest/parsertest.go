// Package parsertest holds the golden-file and round-trip helpers shared by
// the decoders' tests. It is imported only from _test.go files.
//
// A golden case is a directory under testdata/ holding input.log (one line per
// record), want.json (the outcome of each line) and optionally config.hcl (the
// body of the parser block).
package parsertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/auditship/auditship/parsers"
)

// Result is one line's outcome in want.json.
type Result struct {
	Line   int            `json:"line"`
	Record parsers.Record `json:"record,omitempty"`
	Skip   bool           `json:"skip,omitempty"`
	Error  string         `json:"error,omitempty"`
}

// LoadConfig decodes dir/config.hcl, when it exists, into cfg (a pointer to
// a decoder's Config, already holding its defaults) and validates it.
func LoadConfig(t testing.TB, dir string, cfg interface{ Validate() hcl.Diagnostics }) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, "config.hcl"))
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclparse.NewParser().ParseHCL(src, "config.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if diags := gohcl.DecodeBody(f.Body, nil, cfg); diags.HasErrors() {
		t.Fatal(diags)
	}
	if diags := cfg.Validate(); diags.HasErrors() {
		t.Fatal(diags)
	}
}

// SplitLines splits a file into lines without their '\n'.
func SplitLines(b []byte) [][]byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.Split(b, []byte("\n"))
}

// DecodeAll decodes every line of input with d.
func DecodeAll(d parsers.Decoder, input []byte) []Result {
	var out []Result
	for i, line := range SplitLines(input) {
		r := Result{Line: i + 1}
		rec, err := d.Decode(line)
		switch {
		case errors.Is(err, parsers.ErrSkip):
			r.Skip, r.Error = true, err.Error()
		case err != nil:
			r.Error = err.Error()
		default:
			r.Record = rec
		}
		out = append(out, r)
	}
	return out
}

// MarshalResults renders results as indented JSON, without HTML escaping.
func MarshalResults(t testing.TB, rs []Result) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rs); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// CaseDirs lists the golden case directories under testdata/.
func CaseDirs(t testing.TB) []string {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir("testdata", func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !e.IsDir() && e.Name() == "input.log" {
			dirs = append(dirs, filepath.Dir(p))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dirs
}

// SeedLines returns every line of every golden input, for fuzz seed corpora.
func SeedLines(t testing.TB) [][]byte {
	t.Helper()
	var out [][]byte
	for _, dir := range CaseDirs(t) {
		b, err := os.ReadFile(filepath.Join(dir, "input.log"))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, SplitLines(b)...)
	}
	return out
}

// Golden runs every golden case: newDecoder builds the case's decoder from its
// directory, and want.json is compared with, or with update rewritten from,
// the outcome of each line.
func Golden(t *testing.T, update bool, newDecoder func(t *testing.T, dir string) parsers.Decoder) {
	t.Helper()
	dirs := CaseDirs(t)
	if len(dirs) == 0 {
		t.Fatal("no golden cases under testdata/")
	}
	for _, dir := range dirs {
		name := strings.TrimPrefix(filepath.ToSlash(dir), "testdata/")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d := newDecoder(t, dir)
			input, err := os.ReadFile(filepath.Join(dir, "input.log"))
			if err != nil {
				t.Fatal(err)
			}
			got := MarshalResults(t, DecodeAll(d, input))
			wantPath := filepath.Join(dir, "want.json")
			if update {
				if err := os.WriteFile(wantPath, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s mismatch (-want +got):\n%s", wantPath, diff)
			}
		})
	}
}

// RoundTrip marshals rec and reads it back with UseNumber.
func RoundTrip(t testing.TB, rec parsers.Record) parsers.Record {
	t.Helper()
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatalf("marshal record: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var back parsers.Record
	if err := dec.Decode(&back); err != nil {
		t.Fatalf("unmarshal record: %v", err)
	}
	return back
}

// sanitize returns v with each invalid UTF-8 byte in strings and keys
// replaced by U+FFFD, as encoding/json writes it. ok is false when two keys
// collapse into one, so the round trip cannot be compared.
func sanitize(v any) (out any, ok bool) {
	switch v := v.(type) {
	case string:
		if utf8.ValidString(v) {
			return v, true
		}
		var b strings.Builder
		for i := 0; i < len(v); {
			r, n := utf8.DecodeRuneInString(v[i:])
			if r == utf8.RuneError && n == 1 {
				b.WriteRune(utf8.RuneError)
			} else {
				b.WriteString(v[i : i+n])
			}
			i += n
		}
		return b.String(), true
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			sk, _ := sanitize(k)
			se, ok := sanitize(e)
			if !ok {
				return nil, false
			}
			m[sk.(string)] = se
		}
		return m, len(m) == len(v)
	case []any:
		a := make([]any, len(v))
		for i, e := range v {
			se, ok := sanitize(e)
			if !ok {
				return nil, false
			}
			a[i] = se
		}
		return a, true
	default:
		return v, true
	}
}

// CheckRoundTrip fails t unless rec survives a JSON round trip; strings with
// invalid UTF-8 are compared as encoding/json writes them (U+FFFD per byte).
func CheckRoundTrip(t testing.TB, rec parsers.Record) {
	t.Helper()
	want, ok := sanitize(map[string]any(rec))
	if !ok {
		return
	}
	if diff := cmp.Diff(want, map[string]any(RoundTrip(t, rec))); diff != "" {
		t.Fatalf("record changed in a JSON round trip (-decoded +round-tripped):\n%s", diff)
	}
}
