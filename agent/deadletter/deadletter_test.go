package deadletter

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/event"
)

var now = time.Date(2026, 11, 30, 5, 3, 1, 123456000, time.UTC)

func src(offset int64) event.Position {
	return event.Position{Input: "app", Path: "/var/log/app/audit.log", Origin: 42, Offset: offset, End: offset + 10}
}

func TestWriter_RoundTrip(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "dl", "deadletter.ndjson")
	w, err := Open(p, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{
		NewRecord(src(0), []byte(`{"broken":`), "parse json: unexpected end", now),
		NewRecord(src(11), []byte{0xff, 0xfe, 'x'}, "parse json: invalid UTF-8", now),
	}
	for _, r := range want {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
	if want[1].LineBase64 == "" || want[1].Line != "" {
		t.Errorf("invalid UTF-8 not kept as base64: %+v", want[1])
	}
	raw, err := got[1].Raw()
	if err != nil || string(raw) != "\xff\xfex" {
		t.Errorf("Raw() = %q, %v", raw, err)
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
}

// TestWriter_SameLineOnce: a line read again after a crash (same origin,
// offset and bytes) is recorded once, even by a new Writer.
func TestWriter_SameLineOnce(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "deadletter.ndjson")
	line := []byte("not json")
	for round := range 3 {
		w, err := Open(p, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(NewRecord(src(5), line, "parse", now)); err != nil {
			t.Fatal(err)
		}
		// Another line at another offset is another record.
		if err := w.Write(NewRecord(src(int64(100+round)), line, "parse", now)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var offsets []int64
	for _, r := range got {
		offsets = append(offsets, r.Offset)
	}
	if diff := cmp.Diff([]int64{5, 100, 101, 102}, offsets); diff != "" {
		t.Errorf("offsets (-want +got):\n%s", diff)
	}
}

func TestWriter_Rotates(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "deadletter.ndjson")
	w, err := Open(p, 300, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := w.Write(NewRecord(src(int64(i*10)), []byte("a bad line of some length"), "parse", now)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, name := range []string{p, p + ".1", p + ".2"} {
		recs, err := ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if st.Size() > 300 {
			t.Errorf("%s is %d bytes, over max_bytes 300", name, st.Size())
		}
		total += len(recs)
	}
	if _, err := os.Stat(p + ".3"); !os.IsNotExist(err) {
		t.Errorf("%s.3 exists beyond max_files 2", p)
	}
	if total == 0 || total > 10 {
		t.Errorf("%d records kept across files", total)
	}
}

func TestReadFile_Missing(t *testing.T) {
	t.Parallel()
	recs, err := ReadFile(filepath.Join(t.TempDir(), "none.ndjson"))
	if err != nil || recs != nil {
		t.Errorf("ReadFile(missing) = %v, %v; want nothing, no error", recs, err)
	}
}

// TestWriter_SyncOnlyWhenWritten checks that Sync has nothing to do without
// new records (the pipeline calls it after every batch).
func TestWriter_SyncOnlyWhenWritten(t *testing.T) {
	t.Parallel()
	w, err := Open(filepath.Join(t.TempDir(), "deadletter.ndjson"), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(NewRecord(src(0), []byte("x"), "parse", now)); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	// Take the file away behind the writer's back: a Sync with nothing
	// new must not touch it.
	if err := w.f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatalf("Sync with nothing written: %v", err)
	}
}

// TestWriter_RecoversFromFullDisk makes the writer's file descriptor one
// of /dev/full (every write fails with ENOSPC, as on a full disk): Sync must
// fail and keep failing while it is, then, once a new descriptor leads to a
// file with room again, write every record once and whole.
func TestWriter_RecoversFromFullDisk(t *testing.T) {
	t.Parallel()
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full on this system: %v", err)
	}
	p := filepath.Join(t.TempDir(), "deadletter.ndjson")
	w, err := Open(p, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{
		NewRecord(src(0), []byte("x"), "parse", now),
		NewRecord(src(11), []byte("y"), "parse", now),
		NewRecord(src(22), []byte("z"), "parse", now),
	}
	if err := w.Write(want[0]); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(want[1]); err != nil {
		t.Fatal(err)
	}
	// The disk fills up.
	if err := w.f.Close(); err != nil {
		t.Fatal(err)
	}
	w.f = full
	if err := w.Sync(); err == nil || !strings.Contains(err.Error(), "no space") {
		t.Fatalf("Sync on a full disk: %v, want ENOSPC", err)
	}
	if err := w.Write(want[2]); err != nil {
		t.Fatal(err)
	}
	// The failed Sync let go of the descriptor: the next one opens the
	// path again, which has room.
	if err := w.Sync(); err != nil {
		t.Fatalf("Sync once there is room: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("records after recovery (-want +got):\n%s", diff)
	}
}

// TestOpen_CutsTornRecord writes whole records and then half of one, as a
// process killed mid-write (or a full disk) leaves them: ReadFile reports
// the torn record after the whole ones, and Open cuts it off so the file
// stays readable and new records follow the whole ones.
func TestOpen_CutsTornRecord(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "deadletter.ndjson")
	w, err := Open(p, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	first := NewRecord(src(0), []byte("x"), "parse", now)
	if err := w.Write(first); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	whole, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	torn := []byte(`{"time":"2026-11-30T05:03:01Z","input":"app","pa`)
	if err := os.WriteFile(p, append(slices.Clone(whole), torn...), 0o600); err != nil {
		t.Fatal(err)
	}
	recs, err := ReadFile(p)
	var te *TornError
	if !errors.As(err, &te) || te.Line != 2 || te.Offset != int64(len(whole)) || te.Bytes != int64(len(torn)) {
		t.Fatalf("ReadFile of a torn file: %v, want a TornError at line 2, offset %d, %d bytes", err, len(whole), len(torn))
	}
	if len(recs) != 1 {
		t.Errorf("ReadFile of a torn file gave %d records, want the 1 whole one", len(recs))
	}
	w, err = Open(p, 0, 0)
	if err != nil {
		t.Fatalf("Open of a torn file: %v", err)
	}
	if w.Repaired() != int64(len(torn)) {
		t.Errorf("Repaired() = %d, want %d", w.Repaired(), len(torn))
	}
	second := NewRecord(src(11), []byte("y"), "parse", now)
	if err := w.Write(second); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Record{first, second}, got); diff != "" {
		t.Errorf("records (-want +got):\n%s", diff)
	}
}

// TestWriter_DedupAcrossRotation records lines, rotating on the way, then
// reopens the file and records the same lines again (the agent reading
// them again after kill -9): no record is added while the first is kept,
// and Dropped counts what rotation deleted.
func TestWriter_DedupAcrossRotation(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "deadletter.ndjson")
	const n = 12
	write := func() {
		t.Helper()
		w, err := Open(p, 600, 3)
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if err := w.Write(NewRecord(src(int64(i*10)), []byte("a bad line of some length"), "parse", now)); err != nil {
				t.Fatal(err)
			}
		}
		if w.Dropped() != 0 {
			t.Errorf("Dropped() = %d with room for every record", w.Dropped())
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		t.Helper()
		total := 0
		for _, name := range []string{p, p + ".1", p + ".2", p + ".3"} {
			recs, err := ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			total += len(recs)
		}
		return total
	}
	write()
	if _, err := os.Stat(p + ".1"); err != nil {
		t.Fatalf("no rotation happened: %v", err)
	}
	if got := count(); got != n {
		t.Fatalf("%d records after the first run, want %d", got, n)
	}
	write()
	if got := count(); got != n {
		t.Errorf("%d records after reading the same lines again, want %d", got, n)
	}

	// One more file's worth of new lines deletes the oldest file.
	w, err := Open(p, 600, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 * n {
		if err := w.Write(NewRecord(src(int64(1000+i*10)), []byte("a bad line of some length"), "parse", now)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if d := w.Dropped(); d == 0 || int(d)+count() != 3*n {
		t.Errorf("Dropped() = %d with %d records kept, want them to add up to %d", d, count(), 3*n)
	}
}
