package json

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/parsers"
)

const recycleLine = `{"msg":"audit","audit":{"resource":"user","details":{"a":"x","n":{"deep":[{"k":"v"}]}}},"other":{"p":1}}`

// snapshot copies v deeply, so that later clearing of maps shows in a diff.
func snapshot(v any) any {
	switch v := v.(type) {
	case map[string]any:
		c := make(map[string]any, len(v))
		for k, x := range v {
			c[k] = snapshot(x)
		}
		return c
	case []any:
		c := make([]any, len(v))
		for i, x := range v {
			c[i] = snapshot(x)
		}
		return c
	default:
		return v
	}
}

// The two tests below look at released maps, which belong to the pool once
// released: they do not run in parallel with tests that decode.

func TestRelease_KeepInTree(t *testing.T) {
	d := mustNew(t, DefaultConfig())
	rec, err := d.Decode([]byte(recycleLine))
	if err != nil {
		t.Fatal(err)
	}
	details := rec["audit"].(map[string]any)["details"].(map[string]any)
	want := snapshot(details)
	other := rec["other"].(map[string]any)
	d.Release(rec, details)
	if diff := cmp.Diff(want, details); diff != "" {
		t.Fatalf("kept details changed (-want +got):\n%s", diff)
	}
	if len(rec) != 0 || len(other) != 0 {
		t.Fatalf("maps outside keep not released: rec %v, other %v", rec, other)
	}
}

// A censored copy of the details may share the maps below its top with the
// record: those must survive.
func TestRelease_KeepIsACopySharingMaps(t *testing.T) {
	d := mustNew(t, DefaultConfig())
	rec, err := d.Decode([]byte(recycleLine))
	if err != nil {
		t.Fatal(err)
	}
	orig := rec["audit"].(map[string]any)["details"].(map[string]any)
	keep := map[string]any{"a": "****", "n": orig["n"]}
	want := snapshot(keep)
	d.Release(rec, keep)
	if diff := cmp.Diff(want, keep); diff != "" {
		t.Fatalf("maps shared with keep changed (-want +got):\n%s", diff)
	}
	if len(rec) != 0 || len(orig) != 0 {
		t.Fatalf("maps outside keep not released: rec %v, details %v", rec, orig)
	}
}

// Released maps are reused by later lines, which still decode correctly.
func TestRelease_ReuseDecodesCorrectly(t *testing.T) {
	t.Parallel()
	d := mustNew(t, DefaultConfig())
	lines := []string{recycleLine, `{"msg":"x"}`, `{"a":{"b":{"c":{}}},"msg":"audit","z":[{"q":1},{"q":2}]}`}
	var want []parsers.Record
	for _, l := range lines {
		rec, err := d.Decode([]byte(l))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, snapshot(rec).(map[string]any))
	}
	for range 200 {
		for i, l := range lines {
			rec, err := d.Decode([]byte(l))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want[i], rec); diff != "" {
				t.Fatalf("line %d after reuse (-want +got):\n%s", i, diff)
			}
			d.Release(rec, nil)
		}
	}
}

// Kept details inside an array, next to maps that are released: only the
// details' own subtree stays.
func TestRelease_KeepBetweenSiblings(t *testing.T) {
	d := mustNew(t, DefaultConfig())
	rec, err := d.Decode([]byte(`{"a":[{"before":{"x":1}},{"keep":{"n":{"m":{}}},"k2":[{"q":1}]},{"after":{"y":2}}],"z":{"w":{}}}`))
	if err != nil {
		t.Fatal(err)
	}
	arr := rec["a"].([]any)
	keep := arr[1].(map[string]any)
	before, after := arr[0].(map[string]any), arr[2].(map[string]any)
	want := snapshot(keep)
	d.Release(rec, keep)
	if diff := cmp.Diff(want, keep); diff != "" {
		t.Fatalf("kept map changed (-want +got):\n%s", diff)
	}
	if len(rec) != 0 || len(before) != 0 || len(after) != 0 {
		t.Fatalf("maps outside keep not released: %v %v %v", rec, before, after)
	}
}
