package file

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var base = time.Date(2026, 11, 28, 9, 12, 1, 123456789, time.UTC)

func sampleEvents() []event.Event {
	return []event.Event{
		{ID: 1, Time: base, Name: "dataset", Type: "create", UserUID: 2, Details: map[string]any{
			"dataset_uid": json.Number("12"), "name": "insurance <claims> & co", "description": "line\nbreak \"quoted\" \\ tab\t",
		}},
		{ID: math.MaxInt64, Time: base.In(time.FixedZone("x", 3600)), Name: "batch", Type: "update", UserUID: -1, Details: map[string]any{
			"assignees": []any{json.Number("3"), json.Number("-5.5e+3")},
			"changes":   map[string]any{"z": nil, "a": true, "m": []any{}, "e": map[string]any{}},
			"bad utf8":  "\xff\xfe ok \u2028 \u2029 é 日本",
			"ctl":       "\x00\x01\x1f",
			"float":     1.5, "int64": int64(7), "int": 9, "empty": json.Number(""),
			"nil list": []any(nil), "nil map": map[string]any(nil),
		}},
		{ID: 3, Time: time.Time{}, Name: "", Type: "", Details: nil},
	}
}

func TestAppendEvent_MatchesMarshalJSON(t *testing.T) {
	t.Parallel()
	for i, e := range sampleEvents() {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendEvent(nil, &e)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("event %d (-want +got):\n%s", i, diff)
		}
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "<&>", "\xff", "\u2028", "a\"b\\c\n", "日本"} {
		f.Add(s, "12.5e-3")
	}
	f.Fuzz(func(t *testing.T, s, num string) {
		e := event.Event{ID: 1, Name: s, Type: s, Details: map[string]any{s: s, "n": json.Number(num), "l": []any{s}}}
		want, werr := json.Marshal(e)
		got, gerr := appendEvent(nil, &e)
		if (werr != nil) != (gerr != nil) {
			t.Fatalf("errors differ: encoding/json %v, appendEvent %v", werr, gerr)
		}
		if werr == nil && string(want) != string(got) {
			t.Fatalf("encoding differs:\nwant %s\ngot  %s", want, got)
		}
	})
}

func open(t *testing.T, c Config, dir string) *Output {
	t.Helper()
	o, err := New(c, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = o.Close(t.Context()) })
	return o
}

func readEvents(t *testing.T, path string) []event.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []event.Event
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e event.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOutput_WriteAppendsAcrossReopen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := DefaultConfig()
	c.Path = "sub/events.ndjson"
	evs := sampleEvents()[:1]
	for range 2 {
		o := open(t, c, dir)
		if err := o.Write(t.Context(), evs); err != nil {
			t.Fatal(err)
		}
		if err := o.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	got := readEvents(t, filepath.Join(dir, "sub/events.ndjson"))
	want := []event.Event{evs[0], evs[0]}
	for i := range want {
		want[i].Time = want[i].Time.Truncate(time.Microsecond)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestOutput_RejectsUnencodableEvent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	o := open(t, DefaultConfig(), dir)
	evs := sampleEvents()[:1]
	bad := event.Event{ID: 2, Name: "x", Details: map[string]any{"n": json.Number("abc")}}
	err := o.Write(t.Context(), []event.Event{bad, evs[0]})
	be, ok := errors.AsType[*outputs.BatchError](err)
	if !ok {
		t.Fatalf("Write error = %v, want *outputs.BatchError", err)
	}
	if len(be.Items) != 1 || be.Items[0].Index != 0 || be.Items[0].Retryable {
		t.Errorf("items = %+v, want index 0 not retryable", be.Items)
	}
	if n := len(readEvents(t, o.Path())); n != 1 {
		t.Errorf("file holds %d events, want 1", n)
	}
}

func TestOutput_DevNull(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	c.Path = os.DevNull
	o := open(t, c, t.TempDir())
	if err := o.Write(t.Context(), sampleEvents()); err != nil {
		t.Fatal(err)
	}
}

func TestOutput_Closed(t *testing.T) {
	t.Parallel()
	o, err := New(DefaultConfig(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Write(t.Context(), sampleEvents()); !errors.Is(err, ErrClosed) {
		t.Errorf("Write before Open = %v, want ErrClosed", err)
	}
	if err := o.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := o.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := o.Write(t.Context(), sampleEvents()); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close = %v, want ErrClosed", err)
	}
}

func TestConfig_Validate(t *testing.T) {
	t.Parallel()
	c := DefaultConfig()
	if d := c.Validate(); d.HasErrors() {
		t.Errorf("default config: %s", d.Error())
	}
	c.Path = ""
	if d := c.Validate(); !d.HasErrors() {
		t.Error("empty path accepted")
	}
}

func BenchmarkWrite(b *testing.B) {
	c := DefaultConfig()
	c.Path = os.DevNull
	o, err := New(c, b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := o.Open(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer o.Close(b.Context())
	batch := make([]event.Event, 1000)
	for i := range batch {
		batch[i] = sampleEvents()[0]
		batch[i].ID = int64(i + 1)
	}
	b.ReportAllocs()
	cpu0 := cpuNanos()
	for b.Loop() {
		if err := o.Write(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/event")
	b.ReportMetric(float64(cpuNanos()-cpu0)/float64(b.N*len(batch)), "cpu-ns/event")
}

// loadBenchEvents reads testdata/bench_events.ndjson: 256 audit events of
// the benchmark generator (bench/gen -seed 1) covering every (event_name,
// event_type) it produces.
func loadBenchEvents(tb testing.TB) []event.Event {
	tb.Helper()
	b, err := os.ReadFile("testdata/bench_events.ndjson")
	if err != nil {
		tb.Fatal(err)
	}
	var evs []event.Event
	for l := range bytes.Lines(b) {
		var e event.Event
		if err := json.Unmarshal(l, &e); err != nil {
			tb.Fatalf("%s: %v", l, err)
		}
		evs = append(evs, e)
	}
	return evs
}

func TestAppendEvent_MatchesMarshalJSON_BenchEvents(t *testing.T) {
	t.Parallel()
	for i, e := range loadBenchEvents(t) {
		want, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendEvent(nil, &e)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("event %d:\nwant %s\ngot  %s", i, want, got)
		}
	}
}

// BenchmarkWriteMix writes the generated event mix in batches of 256 to
// /dev/null.
func BenchmarkWriteMix(b *testing.B) {
	c := DefaultConfig()
	c.Path = os.DevNull
	o, err := New(c, b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	if err := o.Open(b.Context()); err != nil {
		b.Fatal(err)
	}
	defer o.Close(b.Context())
	batch := loadBenchEvents(b)
	b.ReportAllocs()
	cpu0 := cpuNanos()
	for b.Loop() {
		if err := o.Write(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(batch)), "ns/event")
	b.ReportMetric(float64(cpuNanos()-cpu0)/float64(b.N*len(batch)), "cpu-ns/event")
}
