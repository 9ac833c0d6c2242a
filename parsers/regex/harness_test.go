package regex

import (
	"bytes"
	encjson "encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/auditship/auditship/parsers"
)

var update = flag.Bool("update", false, "rewrite testdata/*/want.json")

// result is one line's outcome in want.json.
type result struct {
	Line   int            `json:"line"`
	Record parsers.Record `json:"record,omitempty"`
	Skip   bool           `json:"skip,omitempty"`
	Error  string         `json:"error,omitempty"`
}

// loadConfig reads dir/config.hcl (a parser block body) if present.
func loadConfig(t *testing.T, dir string) Config {
	t.Helper()
	c := DefaultConfig()
	src, err := os.ReadFile(filepath.Join(dir, "config.hcl"))
	if errors.Is(err, os.ErrNotExist) {
		return c
	}
	if err != nil {
		t.Fatal(err)
	}
	f, diags := hclparse.NewParser().ParseHCL(src, "config.hcl")
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if diags := gohcl.DecodeBody(f.Body, nil, &c); diags.HasErrors() {
		t.Fatal(diags)
	}
	if diags := c.Validate(); diags.HasErrors() {
		t.Fatal(diags)
	}
	return c
}

// splitLines splits a file into lines without their '\n'.
func splitLines(b []byte) [][]byte {
	b = bytes.TrimSuffix(b, []byte("\n"))
	return bytes.Split(b, []byte("\n"))
}

func decodeAll(t *testing.T, d *Decoder, input []byte) []result {
	t.Helper()
	var out []result
	for i, line := range splitLines(input) {
		r := result{Line: i + 1}
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

func marshalResults(t *testing.T, rs []result) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := encjson.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rs); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func caseDirs(t testing.TB) []string {
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

func TestDecode_Golden(t *testing.T) {
	t.Parallel()
	for _, dir := range caseDirs(t) {
		name := strings.TrimPrefix(filepath.ToSlash(dir), "testdata/")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			d, err := New(loadConfig(t, dir))
			if err != nil {
				t.Fatal(err)
			}
			input, err := os.ReadFile(filepath.Join(dir, "input.log"))
			if err != nil {
				t.Fatal(err)
			}
			got := marshalResults(t, decodeAll(t, d, input))
			wantPath := filepath.Join(dir, "want.json")
			if *update {
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

func mustNew(t testing.TB, c Config) *Decoder {
	t.Helper()
	d, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// roundTrip marshals rec and reads it back with UseNumber.
func roundTrip(t testing.TB, rec parsers.Record) parsers.Record {
	t.Helper()
	b, err := encjson.Marshal(rec)
	if err != nil {
		t.Fatalf("marshal record: %v", err)
	}
	dec := encjson.NewDecoder(bytes.NewReader(b))
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

// checkRoundTrip fails t unless rec survives a JSON round trip; strings with
// invalid UTF-8 are compared as encoding/json writes them (U+FFFD per byte).
func checkRoundTrip(t *testing.T, rec parsers.Record) {
	t.Helper()
	want, ok := sanitize(map[string]any(rec))
	if !ok {
		return
	}
	if diff := cmp.Diff(want, map[string]any(roundTrip(t, rec))); diff != "" {
		t.Fatalf("record changed in a JSON round trip (-decoded +round-tripped):\n%s", diff)
	}
}
