// Package sdk holds only the test of the client examples curl.sh and
// audit_logs.py, run against a real query server over a real store.
package sdk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
	"github.com/auditship/auditship/outputs/sqlite"
	"github.com/auditship/auditship/query"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const key = "sdk-example-superadmin-key"

// startServer runs a real query server on 127.0.0.1 over a store holding n
// events and returns its base URL and the store.
func startServer(t *testing.T, n int) (string, *sqlite.Store) {
	t.Helper()
	return startServerRate(t, n, 1000, 1000)
}

// startServerRate is startServer with a rate limit per key.
func startServerRate(t *testing.T, n int, rateLimit float64, rateBurst int) (string, *sqlite.Store) {
	t.Helper()
	st, err := sqlite.New(sqlite.DefaultConfig(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	base := time.Date(2021, 8, 17, 20, 51, 47, 268843000, time.UTC)
	names := []string{"user", "dataset", "api_key"}
	evs := make([]event.Event, n)
	for i := range evs {
		evs[i] = event.Event{
			ID: int64(i + 1), Time: base.Add(time.Duration(i/2) * time.Second), Name: names[i%3], Type: "create",
			UserUID: int64(i % 4), Details: map[string]any{"seq": json.Number(strconv.Itoa(i)), "note": "ünïcode & \"quotes\""},
		}
	}
	if err := st.Write(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	c := query.DefaultConfig()
	c.Listen = "127.0.0.1:0"
	c.RateLimit, c.RateBurst = rateLimit, rateBurst
	srv, err := query.New(c, st, query.Options{SuperadminKey: key})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server not ready after 10s")
	}
	return "http://" + srv.Addr(), st
}

// want returns the ids the store holds for q, all pages.
func want(t *testing.T, st *sqlite.Store, q outputs.Query) []int64 {
	t.Helper()
	q.Limit = query.MaxLimit
	evs, err := st.Search(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	ids := []int64{}
	for _, e := range evs {
		ids = append(ids, e.ID)
	}
	return ids
}

// run runs a command with the server's URL and key in its environment.
func run(t *testing.T, url, key string, name string, args ...string) (string, string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Env = append(os.Environ(), "AUDITSHIP_URL="+url, "AUDITSHIP_SUPERADMIN_KEY="+key, "PYTHONDONTWRITEBYTECODE=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func TestCurlScript(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed: %v", tool, err)
		}
	}
	url, st := startServer(t, 250)
	tests := []struct {
		name   string
		params string
		pages  []int // events per page
		q      outputs.Query
	}{
		{"pages of 100", "limit=100&order=asc", []int{100, 100, 50}, outputs.Query{Order: outputs.Asc}},
		{"filters newest first", "limit=30&event_name=user&event_name=api_key&user_uid=1&user_uid=2", []int{30, 30, 24}, // 84 events: 250 ids, names user|api_key (2 in 3), uid 1|2 (1 in 2)
			outputs.Query{Names: []string{"user", "api_key"}, UserUIDs: []int64{1, 2}}},
		{"exact pages end empty", "limit=125&order=asc", []int{125, 125, 0}, outputs.Query{Order: outputs.Asc}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stdout, stderr, err := run(t, url, key, "bash", "curl.sh", tt.params)
			if err != nil {
				t.Fatalf("curl.sh: %v\n%s", err, stderr)
			}
			var pages []int
			got := []int64{}
			sc := bufio.NewScanner(strings.NewReader(stdout))
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				var evs []event.Event
				if err := json.Unmarshal(sc.Bytes(), &evs); err != nil {
					t.Fatalf("line %q: %v", sc.Text(), err)
				}
				pages = append(pages, len(evs))
				for _, e := range evs {
					got = append(got, e.ID)
				}
			}
			if diff := cmp.Diff(tt.pages, pages); diff != "" {
				t.Errorf("events per page (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(want(t, st, tt.q), got); diff != "" {
				t.Errorf("event ids (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("waits out 429", func(t *testing.T) {
		t.Parallel()
		// One request per half second: every page after the first is
		// refused once with Retry-After: 1.
		url, st := startServerRate(t, 250, 2, 1)
		stdout, stderr, err := run(t, url, key, "bash", "curl.sh", "limit=100&order=asc")
		if err != nil {
			t.Fatalf("curl.sh: %v\n%s", err, stderr)
		}
		got := []int64{}
		for l := range strings.SplitSeq(strings.TrimSuffix(stdout, "\n"), "\n") {
			var evs []event.Event
			if err := json.Unmarshal([]byte(l), &evs); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			got = append(got, ids(evs)...)
		}
		if diff := cmp.Diff(want(t, st, outputs.Query{Order: outputs.Asc}), got); diff != "" {
			t.Errorf("event ids (-want +got):\n%s", diff)
		}
	})
	t.Run("offset encoded as in the README", func(t *testing.T) {
		t.Parallel()
		stdout, stderr, err := run(t, url, key, "bash", "curl.sh", "limit=500&start_time=2021-08-17T22:52:00%2B02:00")
		if err != nil {
			t.Fatalf("curl.sh: %v\n%s", err, stderr)
		}
		var evs []event.Event
		if err := json.Unmarshal([]byte(stdout), &evs); err != nil {
			t.Fatalf("output %q: %v", stdout, err)
		}
		q := outputs.Query{Start: time.Date(2021, 8, 17, 20, 52, 0, 0, time.UTC)}
		if diff := cmp.Diff(want(t, st, q), ids(evs)); diff != "" {
			t.Errorf("event ids (-want +got):\n%s", diff)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		t.Parallel()
		_, stderr, err := run(t, url, "wrong", "bash", "curl.sh")
		if err == nil || !strings.Contains(stderr, `"error":"unauthorized"`) {
			t.Errorf("curl.sh with a wrong key: %v, stderr %q; want a failure naming unauthorized", err, stderr)
		}
	})
}

func TestPythonScript(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skipf("python3 is not installed: %v", err)
	}
	cfile := filepath.Join(t.TempDir(), "audit_logs.pyc")
	if _, stderr, err := run(t, "", "", "python3", "-c",
		fmt.Sprintf("import py_compile; py_compile.compile('audit_logs.py', cfile=%q, doraise=True)", cfile)); err != nil {
		t.Fatalf("audit_logs.py does not compile: %v\n%s", err, stderr)
	}
	if _, _, err := run(t, "", "", "python3", "-c", "import requests"); err != nil {
		t.Skip("python requests is not installed; only compiled audit_logs.py")
	}
	url, st := startServer(t, 250)
	lines := func(t *testing.T, args ...string) []int64 {
		t.Helper()
		stdout, stderr, err := run(t, url, key, "python3", append([]string{"audit_logs.py"}, args...)...)
		if err != nil {
			t.Fatalf("audit_logs.py %v: %v\n%s", args, err, stderr)
		}
		ids := []int64{}
		for l := range strings.SplitSeq(strings.TrimSuffix(stdout, "\n"), "\n") {
			if l == "" {
				continue
			}
			var raw map[string]any
			if err := json.Unmarshal([]byte(l), &raw); err != nil || len(raw) != 6 {
				t.Fatalf("line %q: %v; want an event with six fields", l, err)
			}
			var e event.Event
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, e.ID)
		}
		return ids
	}
	t.Run("first page as tdm_client.get", func(t *testing.T) {
		t.Parallel()
		got := lines(t, "--first-page", "--limit", "100")
		if diff := cmp.Diff(want(t, st, outputs.Query{})[:100], got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("every page", func(t *testing.T) {
		t.Parallel()
		got := lines(t, "--limit", "40", "--order", "asc", "--event-name", "dataset", "--event-name", "user", "--start-time", "2021-08-17T20:52:00")
		q := outputs.Query{Order: outputs.Asc, Names: []string{"dataset", "user"}, Start: time.Date(2021, 8, 17, 20, 52, 0, 0, time.UTC)}
		if diff := cmp.Diff(want(t, st, q), got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("waits out 429", func(t *testing.T) {
		t.Parallel()
		url, st := startServerRate(t, 250, 2, 1)
		stdout, stderr, err := run(t, url, key, "python3", "audit_logs.py", "--limit", "100", "--order", "asc")
		if err != nil {
			t.Fatalf("audit_logs.py: %v\n%s", err, stderr)
		}
		got := []int64{}
		for l := range strings.SplitSeq(strings.TrimSuffix(stdout, "\n"), "\n") {
			var e event.Event
			if err := json.Unmarshal([]byte(l), &e); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			got = append(got, e.ID)
		}
		if diff := cmp.Diff(want(t, st, outputs.Query{Order: outputs.Asc}), got); diff != "" {
			t.Errorf("event ids (-want +got):\n%s", diff)
		}
	})
	t.Run("offset as in the README", func(t *testing.T) {
		t.Parallel()
		got := lines(t, "--limit", "500", "--start-time", "2021-08-17T22:52:00+02:00")
		q := outputs.Query{Start: time.Date(2021, 8, 17, 20, 52, 0, 0, time.UTC)}
		if diff := cmp.Diff(want(t, st, q), got); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		t.Parallel()
		_, stderr, err := run(t, url, "wrong", "python3", "audit_logs.py")
		if err == nil || !strings.Contains(stderr, "unauthorized") {
			t.Errorf("wrong key: %v, stderr %q", err, stderr)
		}
	})
}

func ids(evs []event.Event) []int64 {
	out := []int64{}
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}
