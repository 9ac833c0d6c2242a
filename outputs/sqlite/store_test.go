package sqlite

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
)

func TestMain(m *testing.M) {
	if os.Getenv("AUDITSHIP_SQLITE_CHILD") != "" {
		crashChild()
		return
	}
	goleak.VerifyTestMain(m)
}

var base = time.Date(2021, 8, 17, 20, 51, 47, 268843123, time.UTC)

// openStore opens a fresh store in a temporary directory and closes it at
// the end of the test.
func openStore(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := New(DefaultConfig(), dir, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Open(context.Background()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// makeEvents returns n events with ids 1..n; every third shares its time with
// the one before, so ties are broken by event_id.
func makeEvents(n int) []event.Event {
	names := []string{"user", "dataset", "api_key"}
	types := []string{"create", "delete", "login", "update"}
	evs := make([]event.Event, n)
	for i := range evs {
		step := i - i/3 // repeats a timestamp every third event
		evs[i] = event.Event{
			ID:      int64(i + 1),
			Time:    base.Add(time.Duration(step) * time.Millisecond),
			Name:    names[i%len(names)],
			Type:    types[i%len(types)],
			Details: map[string]any{"i": json.Number(strconv.Itoa(i)), "note": "n" + strconv.Itoa(i)},
			UserUID: int64(i % 5),
			Source:  event.Position{Input: "app", Path: "/var/log/app.log", Offset: int64(i * 100)},
		}
	}
	return evs
}

// sorted returns evs sorted by (event_time, event_id) in order, without
// Source (never returned by Search).
func sorted(evs []event.Event, o outputs.Order) []event.Event {
	out := make([]event.Event, len(evs))
	for i, e := range evs {
		e.Source = event.Position{}
		out[i] = e
	}
	slices.SortFunc(out, func(a, b event.Event) int {
		c := a.Time.Compare(b.Time)
		if c == 0 {
			c = cmpInt(a.ID, b.ID)
		}
		if o == outputs.Desc {
			c = -c
		}
		return c
	})
	return out
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func TestStore_RoundTrip(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir())
	in := []event.Event{{
		ID:   9007199254740993, // above 2^53: must stay exact
		Time: time.Date(2021, 8, 17, 20, 51, 47, 268843999, time.UTC),
		Name: "api_key", Type: "create",
		Details: map[string]any{
			"big":    json.Number("123456789012345678901234567890"),
			"float":  json.Number("1.50"),
			"nested": map[string]any{"list": []any{"a", json.Number("1"), true, nil}},
		},
		UserUID: 42,
	}, {ID: 2, Time: base, Name: "user", Type: "login", UserUID: 7}}
	if err := s.Write(t.Context(), in); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got, err := s.Search(t.Context(), outputs.Query{Limit: 10, Order: outputs.Asc})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	want := sorted(in, outputs.Asc)
	want[0].Details = map[string]any{} // nil details come back empty
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Search (-want +got):\n%s", diff)
	}
}

func TestStore_WriteIdempotent(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir())
	evs := makeEvents(50)
	for range 3 {
		if err := s.Write(t.Context(), evs); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	// The same content with details that encode differently is a replay.
	replay := evs[0]
	replay.Details = map[string]any{"i": json.Number("0.0e5"), "note": "n0"}
	replay.Source.Offset = 12345
	if err := s.Write(t.Context(), []event.Event{replay}); err != nil {
		t.Fatalf("Write replay: %v", err)
	}
	got, err := s.Search(t.Context(), outputs.Query{Limit: 1000, Order: outputs.Asc})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if diff := cmp.Diff(sorted(evs, outputs.Asc), got); diff != "" {
		t.Errorf("Search (-want +got):\n%s", diff)
	}
}

func TestStore_WriteRejectsReusedID(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir())
	orig := event.Event{ID: 900073, Time: base, Name: "login", Type: "login",
		Details: map[string]any{"ip": "10.0.0.1", "n": json.Number("12345678901234567890")}, UserUID: 7}
	if err := s.Write(t.Context(), []event.Event{orig}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	details := func(k string, v any) map[string]any {
		d := map[string]any{"ip": "10.0.0.1", "n": json.Number("12345678901234567890")}
		d[k] = v
		return d
	}
	with := func(f func(*event.Event)) event.Event {
		e := orig
		e.Details = details("ip", "10.0.0.1")
		f(&e)
		return e
	}
	tests := []struct {
		name string
		e    event.Event
	}{
		{"time", with(func(e *event.Event) { e.Time = e.Time.Add(time.Nanosecond) })},
		{"name", with(func(e *event.Event) { e.Name = "user" })},
		{"type", with(func(e *event.Event) { e.Type = "logout" })},
		{"user_uid", with(func(e *event.Event) { e.UserUID = 8 })},
		{"details value", with(func(e *event.Event) { e.Details = details("ip", "10.0.0.2") })},
		{"details key", with(func(e *event.Event) { e.Details = details("extra", true) })},
		// float64 would round both to the same value; json.Number is exact.
		{"details number", with(func(e *event.Event) { e.Details = details("n", json.Number("12345678901234567891")) })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			extra := makeEvents(2)
			extra[0].ID, extra[1].ID = 1, 2
			batch := []event.Event{extra[0], tt.e, extra[1]}
			err := s.Write(t.Context(), batch)
			be, ok := errors.AsType[*outputs.BatchError](err)
			if !ok {
				t.Fatalf("Write error = %v, want *outputs.BatchError", err)
			}
			reason := fmt.Sprintf(`event_id 900073 already stored with different content: stored event_name "login", event_type "login", event_time %s, user_uid 7; this one event_name %q, event_type %q, event_time %s, user_uid %d`,
				base.Format(time.RFC3339Nano), tt.e.Name, tt.e.Type, tt.e.Time.UTC().Format(time.RFC3339Nano), tt.e.UserUID)
			if strings.HasPrefix(tt.name, "details") { // the rest is the same: the reason shows both details
				was, err := event.MarshalDetails(details("ip", "10.0.0.1"))
				if err != nil {
					t.Fatal(err)
				}
				d, err := event.MarshalDetails(tt.e.Details)
				if err != nil {
					t.Fatal(err)
				}
				reason = "event_id 900073 already stored with different content: event_details differ: stored " + string(was) + "; this one " + string(d)
			}
			want := []outputs.ItemError{{Index: 1, Retryable: false, Reason: reason}}
			if diff := cmp.Diff(want, be.Items); diff != "" {
				t.Errorf("BatchError items (-want +got):\n%s", diff)
			}
			got, err := s.Search(t.Context(), outputs.Query{Limit: 10, Order: outputs.Asc, UserUIDs: []int64{7}})
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			if diff := cmp.Diff([]event.Event{{ID: orig.ID, Time: orig.Time, Name: orig.Name, Type: orig.Type,
				Details: details("ip", "10.0.0.1"), UserUID: 7}}, got); diff != "" {
				t.Errorf("stored event changed (-want +got):\n%s", diff)
			}
			// The other items of the batch were committed.
			all, err := s.Search(t.Context(), outputs.Query{Limit: 10})
			if err != nil {
				t.Fatalf("Search: %v", err)
			}
			if len(all) != 3 {
				t.Errorf("stored %d events, want 3 (the original and the two others)", len(all))
			}
		})
	}
}

func TestStore_FilesPrivate(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no Unix file modes")
	}
	dir := t.TempDir()
	s := openStore(t, dir)
	if err := s.Write(t.Context(), makeEvents(3)); err != nil {
		t.Fatalf("Write: %v", err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		fi, err := os.Stat(s.Path() + suffix)
		if err != nil {
			t.Fatalf("Stat: %v", err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Errorf("%s mode = %v, want -rw-------", fi.Name(), m)
		}
	}
}

func TestStore_OpenNarrowsExistingFile(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no Unix file modes")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, DefaultConfig().Path)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	openStore(t, dir)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("mode after Open = %v, want -rw-------", m)
	}
}

func TestStore_WriteRejectsOutOfRangeTime(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir())
	evs := makeEvents(3)
	evs[1].Time = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	err := s.Write(t.Context(), evs)
	be, ok := errors.AsType[*outputs.BatchError](err)
	if !ok {
		t.Fatalf("Write error = %v, want *outputs.BatchError", err)
	}
	if len(be.Items) != 1 || be.Items[0].Index != 1 || be.Items[0].Retryable {
		t.Errorf("BatchError items = %+v, want index 1 not retryable", be.Items)
	}
	got, err := s.Search(t.Context(), outputs.Query{Limit: 10, Order: outputs.Asc})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	want := sorted([]event.Event{evs[0], evs[2]}, outputs.Asc)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Search (-want +got):\n%s", diff)
	}
}

func TestStore_Filters(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir())
	evs := makeEvents(120)
	if err := s.Write(t.Context(), evs); err != nil {
		t.Fatalf("Write: %v", err)
	}
	keep := func(f func(e event.Event) bool) []event.Event {
		var out []event.Event
		for _, e := range evs {
			if f(e) {
				out = append(out, e)
			}
		}
		return out
	}
	start, end := evs[30].Time, evs[60].Time
	tests := []struct {
		name string
		q    outputs.Query
		want []event.Event
	}{
		{"all", outputs.Query{}, evs},
		{"one name", outputs.Query{Names: []string{"user"}}, keep(func(e event.Event) bool { return e.Name == "user" })},
		{"names or", outputs.Query{Names: []string{"user", "api_key"}}, keep(func(e event.Event) bool { return e.Name != "dataset" })},
		{"unknown name", outputs.Query{Names: []string{"nope"}}, nil},
		{"types or", outputs.Query{Types: []string{"login", "delete"}}, keep(func(e event.Event) bool { return e.Type == "login" || e.Type == "delete" })},
		{"user uids", outputs.Query{UserUIDs: []int64{0, 3}}, keep(func(e event.Event) bool { return e.UserUID == 0 || e.UserUID == 3 })},
		{"start inclusive", outputs.Query{Start: start}, keep(func(e event.Event) bool { return !e.Time.Before(start) })},
		{"end exclusive", outputs.Query{End: end}, keep(func(e event.Event) bool { return e.Time.Before(end) })},
		{"range", outputs.Query{Start: start, End: end}, keep(func(e event.Event) bool { return !e.Time.Before(start) && e.Time.Before(end) })},
		{"start in zone", outputs.Query{Start: start.In(time.FixedZone("x", 3600))}, keep(func(e event.Event) bool { return !e.Time.Before(start) })},
		{"far bounds", outputs.Query{Start: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}, evs},
		{"and across", outputs.Query{Names: []string{"user"}, Types: []string{"create", "login"}, UserUIDs: []int64{0, 1, 2}, Start: start},
			keep(func(e event.Event) bool {
				return e.Name == "user" && (e.Type == "create" || e.Type == "login") && e.UserUID <= 2 && !e.Time.Before(start)
			})},
	}
	for _, tt := range tests {
		for _, o := range []outputs.Order{outputs.Desc, outputs.Asc} {
			t.Run(fmt.Sprintf("%s order %d", tt.name, o), func(t *testing.T) {
				t.Parallel()
				q := tt.q
				q.Limit, q.Order = 10000, o
				got, err := s.Search(t.Context(), q)
				if err != nil {
					t.Fatalf("Search: %v", err)
				}
				want := sorted(tt.want, o)
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("Search (-want +got):\n%s", diff)
				}
				// Limit takes the first events of the order.
				q.Limit = 3
				got, err = s.Search(t.Context(), q)
				if err != nil {
					t.Fatalf("Search: %v", err)
				}
				if diff := cmp.Diff(want[:min(3, len(want))], got); diff != "" {
					t.Errorf("Search limit 3 (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestStore_KeysetPaging(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir())
	evs := makeEvents(1000)
	// Shuffle ids so that id order and time order differ, and write in
	// several batches.
	r := rand.New(rand.NewPCG(1, 2))
	r.Shuffle(len(evs), func(i, j int) { evs[i].ID, evs[j].ID = evs[j].ID, evs[i].ID })
	for b := range slices.Chunk(evs, 128) {
		if err := s.Write(t.Context(), b); err != nil {
			t.Fatalf("Write: %v", err)
		}
	}
	for _, o := range []outputs.Order{outputs.Desc, outputs.Asc} {
		for _, filter := range [][]string{nil, {"user", "dataset"}} {
			t.Run(fmt.Sprintf("order %d names %v", o, filter), func(t *testing.T) {
				t.Parallel()
				var want []event.Event
				for _, e := range evs {
					if filter == nil || slices.Contains(filter, e.Name) {
						want = append(want, e)
					}
				}
				want = sorted(want, o)
				var got []event.Event
				var after *outputs.Cursor
				for page := 0; page < 200; page++ {
					res, err := s.Search(t.Context(), outputs.Query{Limit: 37, Order: o, Names: filter, After: after})
					if err != nil {
						t.Fatalf("Search: %v", err)
					}
					got = append(got, res...)
					if len(res) < 37 {
						break
					}
					last := res[len(res)-1]
					after = &outputs.Cursor{Time: last.Time, ID: last.ID}
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("pages (-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestStore_ConcurrentReaders(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openStore(t, dir)
	// A second store on the same file, read-only, as auditship query opens it
	// from another process.
	ro, err := New(DefaultConfig(), dir, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := ro.OpenReadOnly(t.Context()); err != nil {
		t.Fatalf("OpenReadOnly: %v", err)
	}
	defer func() { _ = ro.Close(context.Background()) }()
	if err := ro.Write(t.Context(), makeEvents(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("read-only Write error = %v, want ErrClosed", err)
	}

	evs := makeEvents(1000)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for _, rd := range []*Store{s, ro} {
		wg.Go(func() {
			prev := 0
			for {
				select {
				case <-done:
					return
				default:
				}
				got, err := rd.Search(context.Background(), outputs.Query{Limit: 10000, Order: outputs.Asc})
				if err != nil {
					t.Errorf("Search while writing: %v", err)
					return
				}
				// Batches commit whole and in order: a reader sees a prefix.
				if len(got) < prev || len(got)%100 != 0 {
					t.Errorf("reader saw %d events after %d; want whole batches, never fewer", len(got), prev)
					return
				}
				for i, e := range got {
					if e.ID != int64(i+1) { // makeEvents' ids follow time order
						t.Errorf("reader saw event %d at position %d, want %d", e.ID, i, i+1)
						return
					}
				}
				prev = len(got)
			}
		})
	}
	for b := range slices.Chunk(evs, 100) {
		if err := s.Write(t.Context(), b); err != nil {
			t.Errorf("Write: %v", err)
			break
		}
	}
	close(done)
	wg.Wait()
	got, err := ro.Search(t.Context(), outputs.Query{Limit: 10000})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if len(got) != len(evs) {
		t.Errorf("read-only store sees %d events, want %d", len(got), len(evs))
	}
}

func TestStore_ReopenKeepsData(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := New(Config{Path: "sub.db", BusyTimeout: "1s"}, dir, nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Open(t.Context()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	evs := makeEvents(10)
	if err := s.Write(t.Context(), evs); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "sub.db")); err != nil {
		t.Fatalf("database file: %v", err)
	}
	if _, err := s.Search(t.Context(), outputs.Query{Limit: 1}); !errors.Is(err, outputs.ErrUnavailable) {
		t.Errorf("Search after Close error = %v, want ErrUnavailable", err)
	}
	if err := s.Write(t.Context(), evs); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close error = %v, want ErrClosed", err)
	}
	s2 := openStore(t, filepath.Join(dir)) // default path, other file
	got, err := s2.Search(t.Context(), outputs.Query{Limit: 100})
	if err != nil || len(got) != 0 {
		t.Fatalf("other file: %d events, %v; want 0, nil", len(got), err)
	}
	s3, err := New(Config{Path: filepath.Join(dir, "sub.db")}, "/nonexistent", nil)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s3.Open(t.Context()); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer func() { _ = s3.Close(context.Background()) }()
	got, err = s3.Search(t.Context(), outputs.Query{Limit: 100, Order: outputs.Asc})
	if err != nil {
		t.Fatalf("Search: %v", err)
	}
	if diff := cmp.Diff(sorted(evs, outputs.Asc), got); diff != "" {
		t.Errorf("after reopen (-want +got):\n%s", diff)
	}
}

func TestStore_NewerSchemaRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, "audit.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("PRAGMA user_version = 99"); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	s, err := New(DefaultConfig(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(t.Context()); err == nil {
		_ = s.Close(t.Context())
		t.Fatal("Open of a schema version 99 database succeeded, want an error")
	}
	if err := s.OpenReadOnly(t.Context()); err == nil {
		_ = s.Close(t.Context())
		t.Fatal("OpenReadOnly of a schema version 99 database succeeded, want an error")
	}
}

func TestStore_OpenReadOnlyMissingFile(t *testing.T) {
	t.Parallel()
	s, err := New(DefaultConfig(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.OpenReadOnly(t.Context()); err == nil {
		_ = s.Close(t.Context())
		t.Fatal("OpenReadOnly of a missing file succeeded, want an error")
	}
}

// TestStore_SurvivesKill writes in a child process, which reports each
// batch after Write returns and is then killed with SIGKILL: every reported
// batch must be in the database.
func TestStore_SurvivesKill(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "AUDITSHIP_SQLITE_CHILD="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	acked := 0
	for sc.Scan() && acked < 5 {
		if n, err := strconv.Atoi(sc.Text()); err == nil {
			acked = n
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if acked < 5 {
		t.Fatalf("child acknowledged %d batches, want 5", acked)
	}
	s := openStore(t, dir)
	got, err := s.Search(t.Context(), outputs.Query{Limit: 10000, Order: outputs.Asc})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < acked*100 {
		t.Errorf("after kill: %d events stored, want at least %d (acknowledged)", len(got), acked*100)
	}
}

// crashChild writes batches of 100 forever, printing the number of batches
// written after each Write returns, until it is killed.
func crashChild() {
	s, err := New(DefaultConfig(), os.Getenv("AUDITSHIP_SQLITE_CHILD"), nil)
	if err != nil {
		os.Exit(3)
	}
	if err := s.Open(context.Background()); err != nil {
		os.Exit(3)
	}
	evs := makeEvents(100000)
	for i, b := range slices.Collect(slices.Chunk(evs, 100)) {
		if err := s.Write(context.Background(), b); err != nil {
			os.Exit(4)
		}
		fmt.Println(i + 1)
	}
	os.Exit(0)
}

func TestStore_NotOpen(t *testing.T) {
	t.Parallel()
	s, err := New(DefaultConfig(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Search(t.Context(), outputs.Query{Limit: 1}); !errors.Is(err, outputs.ErrUnavailable) {
		t.Errorf("Search error = %v, want ErrUnavailable", err)
	}
	if err := s.Write(t.Context(), makeEvents(1)); !errors.Is(err, ErrClosed) {
		t.Errorf("Write error = %v, want ErrClosed", err)
	}
}

func BenchmarkStore_Write(b *testing.B) {
	s := openStore(b, b.TempDir())
	evs := makeEvents(1000)
	next := int64(0)
	b.ReportAllocs()
	for b.Loop() {
		for i := range evs {
			next++
			evs[i].ID = next
		}
		if err := s.Write(context.Background(), evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}

func TestStore_Pragmas(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// Spaces, '?' and '#' must survive the file: URI; the parent is created.
	s, err := New(Config{Path: "odd dir?/a#b.db"}, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Open(t.Context()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer func() { _ = s.Close(context.Background()) }()
	if _, err := os.Stat(filepath.Join(dir, "odd dir?", "a#b.db")); err != nil {
		t.Fatalf("database not at the configured path: %v", err)
	}
	var mode string
	var sync, ver int
	if err := s.w.QueryRowContext(t.Context(), "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q (%v), want wal", mode, err)
	}
	if err := s.w.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous %d (%v), want 2 (FULL)", sync, err)
	}
	if err := s.r.QueryRowContext(t.Context(), "PRAGMA user_version").Scan(&ver); err != nil || ver != schemaVersion {
		t.Errorf("user_version %d (%v), want %d", ver, err, schemaVersion)
	}
	if _, err := s.r.ExecContext(t.Context(), "DELETE FROM events"); err == nil {
		t.Error("read pool accepted a DELETE, want query_only")
	}
}
