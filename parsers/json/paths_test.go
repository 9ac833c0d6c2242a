package json

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/parsers"
)

// walked is what a paths decode must give: the value at each path of the
// full record, nil where a key is missing or a step meets a non-object.
func walked(rec parsers.Record, paths [][]string) []any {
	out := make([]any, len(paths))
	for i, p := range paths {
		var v any = rec
		for _, k := range p {
			m, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = m[k]
		}
		out[i] = v
	}
	return out
}

// auditPaths are the paths the example mapping reads.
var auditPaths = [][]string{
	{"msg"}, {"ts"}, {"audit", "event_id"}, {"audit", "resource"},
	{"audit", "action"}, {"audit", "details"}, {"audit", "user_uid"},
}

// checkPaths decodes line whole and by paths with d and fails unless both
// give the same values and the same error; ok is the PathsFunc's.
func checkPaths(t *testing.T, d *Decoder, paths [][]string, line []byte) (ok bool) {
	t.Helper()
	dec, usable := d.DecodePaths(paths)
	if !usable {
		t.Fatalf("DecodePaths(%q) refused", paths)
	}
	rec, wantErr := d.Decode(line)
	vals := make([]any, len(paths))
	for i := range vals {
		vals[i] = "left over from an earlier line"
	}
	ok, err := dec(bytes.Clone(line), vals)
	if !ok && err == nil {
		return false
	}
	if (wantErr == nil) != (err == nil) || (wantErr != nil && wantErr.Error() != err.Error()) {
		t.Fatalf("%q: paths error %v, Decode error %v", line, err, wantErr)
	}
	if err != nil {
		return false
	}
	if diff := cmp.Diff(walked(rec, paths), vals); diff != "" {
		t.Fatalf("%q: values (-walked on Decode +by paths):\n%s", line, diff)
	}
	return true
}

func TestDecodePaths(t *testing.T) {
	t.Parallel()
	d := mustNew(t, DefaultConfig())
	for _, c := range []struct {
		name, line string
	}{
		{"audit line", `{"ts":"2026-11-30T08:00:00Z","level":"info","msg":"audit","audit":{"resource":"user","action":"create","user_uid":3,"details":{"a":[1,{"b":"c"}],"s":"x\"y"}}}`},
		{"ordinary line", `{"ts":"t","msg":"request completed","status":500,"path":"/api"}`},
		{"missing keys", `{}`},
		{"a step meets a string", `{"audit":"flat","msg":"audit"}`},
		{"a step meets an array", `{"audit":[{"resource":"user"}]}`},
		{"a step meets null", `{"audit":null}`},
		{"duplicate object: the last wins whole", `{"audit":{"resource":"a","action":"x"},"audit":{"action":"y"}}`},
		{"duplicate object then a scalar", `{"audit":{"resource":"a"},"audit":5}`},
		{"duplicate leaf", `{"msg":"a","msg":"b"}`},
		{"escaped keys", `{"\u006dsg":"audit","audit":{"res\u006furce":"user"}}`},
		{"skipped values of every kind", `{"x":{"y":[1,-2.5e3,true,false,null,"s\"\\\u00e9\ud83d\ude00"]},"msg":"m","z":[]}`},
		{"byte order mark", "\xEF\xBB\xBF{\"msg\":\"audit\"}"},
		{"dotted key not on a path", `{"other.x":1,"msg":"audit"}`},
		{"nested dotted key is data", `{"audit":{"details.x":1,"resource":"r"}}`},
	} {
		if !checkPaths(t, d, auditPaths, []byte(c.line)) {
			t.Errorf("%s: paths decode gave no values", c.name)
		}
	}
}

// TestDecodePaths_WholeRecord checks the lines a paths decode hands back:
// a dotted top-level key that expands onto a path, and only when dotted keys
// are expanded.
func TestDecodePaths_WholeRecord(t *testing.T) {
	t.Parallel()
	line := []byte(`{"audit.resource":"user","audit":{"action":"create"},"msg":"audit"}`)
	dec, _ := mustNew(t, DefaultConfig()).DecodePaths(auditPaths)
	if ok, err := dec(bytes.Clone(line), make([]any, len(auditPaths))); ok || err != nil {
		t.Errorf("expanded dotted key: ok %v, error %v; want the whole record asked for", ok, err)
	}
	literal := mustNew(t, Config{ExpandDottedKeys: false})
	if !checkPaths(t, literal, auditPaths, line) {
		t.Error("dotted key kept as written: paths decode gave no values")
	}
}

func TestDecodePaths_Refused(t *testing.T) {
	t.Parallel()
	d := mustNew(t, DefaultConfig())
	for _, paths := range [][][]string{
		{{"audit"}, {"audit", "resource"}},
		{{"msg"}, {"msg"}},
		{{}},
		{{"a.b"}},
	} {
		if _, ok := d.DecodePaths(paths); ok {
			t.Errorf("DecodePaths(%q) served, want refused", paths)
		}
	}
	if _, ok := mustNew(t, Config{}).DecodePaths([][]string{{"a.b"}}); !ok {
		t.Error(`DecodePaths({"a.b"}) refused without expansion, want served`)
	}
}

// TestDecodePaths_Errors checks that malformed lines give Decode's error, at
// the same byte, whether the bad value is on a path or skipped.
func TestDecodePaths_Errors(t *testing.T) {
	t.Parallel()
	lines := []string{
		``, `   `, `not json`, `[1,2]`, `"s"`,
		`{"x":{"a" 1},"msg":"m"}`,
		`{"audit":{"resource" "r"}}`,
		`{"audit":{"details":{"a":[1,,2]}}}`,
		`{"x":[1,2,,3],"msg":"m"}`,
		`{"msg":"bad \u12 escape"}`,
		"{\"msg\":\"raw \x01 control\"}",
		"{\"x\":\"bad utf8 \xff\"}",
		`{"x":tru}`,
		`{"audit":{"user_uid":-}}`,
		`{"audit":{"a":1}`,
		`{"audit":{"a":1,}}`,
		`{"audit":` + strings.Repeat("{\"audit\":", maxDepth+1),
		`{"x":1}}`,
		`{"msg":"m"} x`,
	}
	d := mustNew(t, DefaultConfig())
	dec, _ := d.DecodePaths(auditPaths)
	for _, l := range lines {
		_, want := d.Decode([]byte(l))
		ok, got := dec([]byte(l), make([]any, len(auditPaths)))
		if ok || want == nil || got == nil || want.Error() != got.Error() {
			t.Errorf("%q: paths ok %v error %v, Decode error %v", l, ok, got, want)
		}
	}
}

// FuzzDecodePaths checks, on any input, that a paths decode fails exactly
// when Decode does, with the same error, and otherwise gives the values at
// the paths of Decode's record, or asks for the whole record only when a
// dotted top-level key expands onto a path.
func FuzzDecodePaths(f *testing.F) {
	for _, line := range caseLines(f) {
		f.Add(line, "msg")
	}
	f.Add([]byte(`{"a.b":1,"a":{"c":2},"ab":3}`), "a")
	f.Add([]byte(`{"audit":{"resource":"a"},"audit":{"action":"b"}}`), "details")
	d := mustNew(f, DefaultConfig())
	f.Fuzz(func(t *testing.T, line []byte, key string) {
		paths := append(auditPaths[:len(auditPaths):len(auditPaths)], []string{"extra", key})
		if _, ok := d.DecodePaths(paths); !ok {
			return // a key with a dot
		}
		if checkPaths(t, d, paths, line) {
			return
		}
		if _, err := d.Decode(line); err != nil {
			return // the same error, checked
		}
		raw, err := mustNew(t, Config{}).Decode(line) // dotted keys as written
		if err != nil {
			t.Fatal(err)
		}
		for k := range raw {
			head, _, dotted := strings.Cut(k, ".")
			if dotted && (head == "msg" || head == "ts" || head == "audit" || head == "extra") {
				return
			}
		}
		t.Fatalf("%q: whole record asked for without a dotted key on a path", line)
	})
}

// BenchmarkDecodePaths compares, over the example platform logs (the
// repository's agent.hcl reads them), decoding whole records (Decode, as
// for a mapping with general expressions), the top-level keys the mapping
// reads (Project) and only the values at its paths (DecodePaths, the
// agent's route for that mapping).
func BenchmarkDecodePaths(b *testing.B) {
	files, err := filepath.Glob("../../examples/logs/*.log")
	if err != nil || len(files) == 0 {
		b.Fatalf("example logs: %v", err)
	}
	var lines [][]byte
	var size int64
	for _, p := range files {
		in, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range splitLines(in) {
			lines = append(lines, l)
			size += int64(len(l))
		}
	}
	d := mustNew(b, DefaultConfig())
	proj := d.Project([]string{"msg", "ts", "audit"})
	dec, _ := d.DecodePaths(auditPaths)
	vals := make([]any, len(auditPaths))
	for _, c := range []struct {
		name string
		run  func(line []byte) error
	}{
		{"whole", func(l []byte) error { _, err := d.DecodeOwned(l); return err }},
		{"project", func(l []byte) error { _, err := proj.(parsers.OwnedDecoder).DecodeOwned(l); return err }},
		{"paths", func(l []byte) error { _, err := dec(l, vals); return err }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(size / int64(len(lines)))
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if err := c.run(lines[i%len(lines)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
