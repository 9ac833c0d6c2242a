package deadletter

import (
	"os"
	"path/filepath"
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
// new records (the pipeline calls it after every batch), and that once a
// record cannot be made durable every Sync fails, so that the agent stops
// acknowledging offsets.
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
	if err := w.Write(NewRecord(src(11), []byte("y"), "parse", now)); err != nil {
		t.Fatal(err) // buffered: the failure shows at Sync
	}
	for i := range 2 {
		if err := w.Sync(); err == nil {
			t.Fatalf("Sync %d after a record that cannot be written: nil error", i+1)
		}
	}
}
