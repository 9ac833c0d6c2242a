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

// projected is what a projected record must be: the full record's keys whose
// part before the first '.' is that of one of keys.
func projected(full parsers.Record, keys []string) parsers.Record {
	want := parsers.Record{}
	for k, v := range full {
		first, _, _ := strings.Cut(k, ".")
		for _, key := range keys {
			if key, _, _ = strings.Cut(key, "."); first == key {
				want[k] = v
			}
		}
	}
	return want
}

func TestProject(t *testing.T) {
	t.Parallel()
	keys := []string{"msg", "audit"}
	cases := []struct {
		name, line string
	}{
		{"plain", `{"ts":"t","msg":"audit","host":"h","audit":{"resource":"user","details":{"a":[1,2,{"b":null}]}}}`},
		{"skipped values of every kind", `{"a":{"x":[1,-2.5e3,true,false,null,"s\"\\\u00e9\ud83d\ude00"]},"b":[],"c":{},"msg":"m"}`},
		{"dotted keys expand as in the full record", `{"audit.resource":"user","audit":{"action":"create"},"other.x":1,"msg":"audit"}`},
		{"dotted key next to a non-object stays", `{"audit":"flat","audit.resource":"user"}`},
		{"escaped key is decoded before the choice", `{"\u006dsg":"audit","m\u0073g2":1}`},
		{"duplicate kept key: last wins", `{"msg":"a","msg":"b"}`},
		{"only skipped keys", `{"x":1,"y":"z"}`},
	}
	full := mustNew(t, DefaultConfig())
	proj := full.Project(keys)
	for _, c := range cases {
		rec, err := full.Decode([]byte(c.line))
		if err != nil {
			t.Fatalf("%s: full Decode: %v", c.name, err)
		}
		got, err := proj.Decode([]byte(c.line))
		if err != nil {
			t.Fatalf("%s: projected Decode: %v", c.name, err)
		}
		if diff := cmp.Diff(projected(rec, keys), got); diff != "" {
			t.Errorf("%s: projected record (-want +got):\n%s", c.name, diff)
		}
	}
}

// TestProject_Errors checks that a malformed value in a skipped key gives the
// same error, at the same byte, as when it is built.
func TestProject_Errors(t *testing.T) {
	t.Parallel()
	lines := []string{
		`{"x":{"a" 1},"msg":"m"}`,
		`{"x":[1,2,,3],"msg":"m"}`,
		`{"x":"bad \u12 escape"}`,
		"{\"x\":\"raw \x01 control\"}",
		"{\"x\":\"bad utf8 \xff\"}",
		`{"x":tru}`,
		`{"x":-}`,
		`{"x":{"a":1}`,
		`{"x":[1}`,
		`{"x":"unterminated`,
		`{"x":{"a":1,}}`,
		`{"x":` + strings.Repeat("[", maxDepth+1),
		`{"x":1}}`,
	}
	full := mustNew(t, DefaultConfig())
	proj := full.Project([]string{"msg"})
	for _, l := range lines {
		_, want := full.Decode([]byte(l))
		_, got := proj.Decode([]byte(l))
		if want == nil || got == nil || want.Error() != got.Error() {
			t.Errorf("%q: projected error %v, full error %v", l, got, want)
		}
	}
}

// FuzzProject checks, on any input, that a projected decoder fails exactly
// when the full one does, with the same error, and otherwise returns the full
// record restricted to the kept keys.
func FuzzProject(f *testing.F) {
	for _, line := range caseLines(f) {
		f.Add(line, "msg")
	}
	f.Add([]byte(`{"a.b":1,"a":{"c":2},"ab":3}`), "a")
	full := mustNew(f, DefaultConfig())
	f.Fuzz(func(t *testing.T, line []byte, key string) {
		keys := []string{key, "msg", "ts"}
		rec, err := full.Decode(line)
		got, gotErr := full.Project(keys).Decode(line)
		if (err == nil) != (gotErr == nil) || (err != nil && err.Error() != gotErr.Error()) {
			t.Fatalf("projected error %v, full error %v", gotErr, err)
		}
		if err != nil {
			return
		}
		if diff := cmp.Diff(projected(rec, keys), got); diff != "" {
			t.Fatalf("projected record (-want +got):\n%s", diff)
		}
	})
}

// TestDecodeOwned checks that DecodeOwned gives the records Decode gives.
func TestDecodeOwned(t *testing.T) {
	t.Parallel()
	full := mustNew(t, DefaultConfig())
	for _, dir := range caseDirs(t) {
		b, err := os.ReadFile(filepath.Join(dir, "input.log"))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range splitLines(b) {
			want, wantErr := full.Decode(line)
			got, gotErr := full.DecodeOwned(bytes.Clone(line))
			if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
				t.Fatalf("%s: DecodeOwned error %v, Decode error %v", line, gotErr, wantErr)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("%s (-Decode +DecodeOwned):\n%s", line, diff)
			}
		}
	}
}
