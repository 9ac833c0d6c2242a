package agent_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/auditship/auditship/agent"
	"github.com/auditship/auditship/agent/config"
	"github.com/auditship/auditship/agent/deadletter"
	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
	"github.com/auditship/auditship/outputs/sqlite"
)

// The scenario tests run the real agent, in process or as the auditship
// binary, against real files and check the embedded store afterwards. The
// binary is built once, on first use, with -race when this test binary has
// it.

var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		if binDir != "" {
			_ = os.RemoveAll(binDir)
		}
		os.Exit(code)
	}))
}

// auditshipBinary returns the path of the auditship binary, building it on
// first use.
func auditshipBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "auditship-scn-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "auditship")
		args := []string{"build", "-o", binPath}
		if raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, "github.com/auditship/auditship/cmd/auditship")...).CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("build auditship: %w\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// envOptions shape the agent.hcl of a scenario.
type envOptions struct {
	paths       []string // globs relative to the env's root; default logs/*.log
	inputExtra  string   // more attributes of the input block
	batchEvents int      // default 100
	maxInflight int      // default: the agent's
}

// env is one scenario: a root directory with logs/ and data/, the agent.hcl,
// and the record of every audit line written, per file.
type env struct {
	t       testing.TB
	dir     string
	cfgPath string
	cfgText string
	logBuf  *lockedBuffer

	mu      sync.Mutex
	want    map[string][]int // file id → seq of each audit line written, in order
	nextSeq map[string]int
	clock   int
	nfiles  int

	store *sqlite.Store
	db    *sql.DB
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	dir := t.TempDir()
	if len(o.paths) == 0 {
		o.paths = []string{"logs/*.log"}
	}
	if o.batchEvents == 0 {
		o.batchEvents = 100
	}
	quoted := make([]string, len(o.paths))
	for i, p := range o.paths {
		quoted[i] = strconv.Quote(p)
	}
	pipeline := fmt.Sprintf("batch_events = %d\n  flush_interval = \"50ms\"", o.batchEvents)
	if o.maxInflight > 0 {
		pipeline += fmt.Sprintf("\n  max_inflight_events = %d", o.maxInflight)
	}
	text := fmt.Sprintf(`
data_dir                = "data"
shutdown_timeout        = "20s"
registry_flush_interval = "100ms"

input "file" "scn" {
  paths         = [%s]
  scan_interval = "100ms"
  %s
  parser "json" {}
  mapping {
    when          = record.msg == "audit"
    event_time    = record.ts
    event_name    = "scn"
    event_type    = "write"
    event_details = record.details
    user_uid      = 7
  }
}

schema "scn" {
  details = object({ file = string, seq = number })
}

pipeline {
  %s
}

output "sqlite" "store" {}

# No operations listener: scenarios run in parallel.
http {
  listen = ""
}
`, strings.Join(quoted, ", "), o.inputExtra, pipeline)
	e := &env{
		t: t, dir: dir, cfgPath: filepath.Join(dir, "agent.hcl"), cfgText: text,
		logBuf: &lockedBuffer{}, want: map[string][]int{}, nextSeq: map[string]int{},
	}
	if err := os.WriteFile(e.cfgPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(e.path("logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if e.store != nil {
			_ = e.store.Close(context.Background())
		}
		if e.db != nil {
			_ = e.db.Close()
		}
		if t.Failed() {
			// AUDITSHIP_TEST_LOGDIR keeps the whole agent log of a failure.
			if d := os.Getenv("AUDITSHIP_TEST_LOGDIR"); d != "" {
				_ = os.WriteFile(filepath.Join(d, strings.ReplaceAll(t.Name(), "/", "_")+".log"), []byte(e.logBuf.tail(1<<30)), 0o644)
			}
			t.Logf("agent log:\n%s", e.logBuf.tail(200))
		}
	})
	return e
}

// path returns name under the env's root.
func (e *env) path(name string) string { return filepath.Join(e.dir, name) }

// dataDir returns the agent's data_dir.
func (e *env) dataDir() string { return e.path("data") }

// ---- writing ----

// logFile is one physical log file: its current path and the id its audit
// lines carry in details.file.
type logFile struct {
	path string
	id   string
}

// newFile creates (or truncates) name under the root with a fresh id.
func (e *env) newFile(name string) *logFile {
	e.t.Helper()
	p := e.path(name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		e.t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		e.t.Fatal(err)
	}
	_ = f.Close()
	return e.track(name)
}

// track gives the existing file name a fresh id, for content written after
// a truncation.
func (e *env) track(name string) *logFile {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.nfiles++
	return &logFile{path: e.path(name), id: fmt.Sprintf("%s#%d", filepath.Base(name), e.nfiles)}
}

// lineOpts vary the lines lines() makes.
type lineOpts struct {
	noise bool   // add a non-audit line after every third audit line
	pad   int    // bytes of padding in each audit line (outside details)
	eol   string // default "\n"
}

// lines returns n audit lines for lf and records them as written; the caller
// must write them (in order) to lf's file.
func (e *env) lines(lf *logFile, n int, o lineOpts) []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	if o.eol == "" {
		o.eol = "\n"
	}
	pad := strings.Repeat("x", o.pad)
	var b bytes.Buffer
	for range n {
		e.clock++
		e.nextSeq[lf.id]++
		seq := e.nextSeq[lf.id]
		ts := time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC).Add(time.Duration(e.clock) * time.Millisecond).Format(time.RFC3339Nano)
		fmt.Fprintf(&b, `{"ts":%q,"msg":"audit","pad":%q,"details":{"file":%q,"seq":%d}}%s`, ts, pad, lf.id, seq, o.eol)
		e.want[lf.id] = append(e.want[lf.id], seq)
		if o.noise && seq%3 == 0 {
			fmt.Fprintf(&b, `{"ts":%q,"msg":"request completed","status":200}%s`, ts, o.eol)
		}
	}
	return b.Bytes()
}

// write appends n audit lines (with noise lines between) to lf.
func (e *env) write(lf *logFile, n int) {
	e.t.Helper()
	e.appendRaw(lf.path, e.lines(lf, n, lineOpts{noise: true}))
}

// appendRaw appends b to the file at p, creating it.
func (e *env) appendRaw(p string, b []byte) {
	e.t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		e.t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		e.t.Fatal(err)
	}
}

// rename moves lf to name (under the root) and returns it at its new path.
func (e *env) rename(lf *logFile, name string) *logFile {
	e.t.Helper()
	if err := os.Rename(lf.path, e.path(name)); err != nil {
		e.t.Fatal(err)
	}
	return &logFile{path: e.path(name), id: lf.id}
}

// written returns how many audit lines were written.
func (e *env) written() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, s := range e.want {
		n += len(s)
	}
	return n
}

// ---- the agent ----

// inproc is an agent running in this process.
type inproc struct {
	cancel context.CancelFunc
	done   chan error
	stats  *agent.Stats
}

// start runs the agent in process on the env's config.
func (e *env) start() *inproc {
	e.t.Helper()
	cfg, _, diags := config.Parse([]byte(e.cfgText), e.cfgPath)
	if diags.HasErrors() {
		e.t.Fatalf("config: %s", diags.Error())
	}
	lvl := slog.LevelInfo
	if os.Getenv("AUDITSHIP_TEST_DEBUG") != "" {
		lvl = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(e.logBuf, &slog.HandlerOptions{Level: lvl}))
	a, err := agent.New(cfg, log, agent.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &inproc{cancel: cancel, done: make(chan error, 1), stats: a.Stats()}
	go func() { p.done <- a.Run(ctx) }()
	e.t.Cleanup(func() { p.stopQuiet() })
	return p
}

// stop cancels the agent and waits for Run to return nil.
func (p *inproc) stop(t testing.TB) {
	t.Helper()
	p.cancel()
	select {
	case err, ok := <-p.done:
		if ok && err != nil {
			t.Fatalf("agent Run: %v", err)
		}
		close(p.done)
	case <-time.After(60 * time.Second):
		t.Fatal("agent did not stop within 60s")
	}
}

func (p *inproc) stopQuiet() {
	p.cancel()
	select {
	case _, ok := <-p.done:
		if ok {
			close(p.done)
		}
	case <-time.After(60 * time.Second):
	}
}

// proc is the auditship binary running on the env's config.
type proc struct {
	cmd    *exec.Cmd
	done   chan error
	stderr *lockedBuffer
	logAt  int // length of stderr's content when the process started
}

// startProc runs `auditship agent`; nofile > 0 runs it under `ulimit -n`.
func (e *env) startProc(nofile int) *proc {
	e.t.Helper()
	bin := auditshipBinary(e.t)
	args := []string{"agent", "--config", e.cfgPath, "--log-format", "json", "--log-level", "info"}
	var cmd *exec.Cmd
	if nofile > 0 {
		cmd = exec.Command("bash", append([]string{"-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, nofile), bin}, args...)...)
	} else {
		cmd = exec.Command(bin, args...)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1), stderr: e.logBuf, logAt: e.logBuf.len()}
	cmd.Stderr = e.logBuf
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	go func() { p.done <- cmd.Wait() }()
	e.t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// waitStarted waits until the process logged that its output is open, at
// most 60s. A SIGTERM before that ends it with an error (see the report on
// agent.Run: a stop while opening the outputs is reported as a failure).
func (p *proc) waitStarted(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(p.stderr.since(p.logAt), `"msg":"output opened"`) {
		if time.Now().After(deadline) {
			t.Fatal("the agent did not start within 60s")
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("the agent exited while starting: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// signal sends sig and waits for the process to end; it returns the exit
// error.
func (p *proc) signal(t testing.TB, sig syscall.Signal) error {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		return err
	case <-time.After(60 * time.Second):
		t.Fatalf("agent did not stop within 60s after %v", sig)
	}
	return nil
}

// ---- the store ----

// stored is one scenario event read back from the store.
type stored struct {
	id       int64
	file     string
	seq      int
	storedAt int64
}

// openStore opens the store read-only once it exists; it reports false while
// the agent has not created it yet.
func (e *env) openStore() bool {
	if e.store != nil {
		return true
	}
	s, err := sqlite.New(sqlite.Config{Path: "audit.db", BusyTimeout: "5s"}, e.dataDir(), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := os.Stat(s.Path()); err != nil {
		return false
	}
	if err := s.OpenReadOnly(context.Background()); err != nil {
		return false
	}
	db, err := sql.Open("sqlite", "file:"+s.Path()+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		_ = s.Close(context.Background())
		e.t.Fatal(err)
	}
	e.store, e.db = s, db
	return true
}

// events returns every event in the store, oldest first, through Search;
// storedAt comes from a direct read of the table, for the order check.
func (e *env) events() []stored {
	e.t.Helper()
	if !e.openStore() {
		return nil
	}
	ctx := context.Background()
	var all []event.Event
	q := outputs.Query{Limit: 10000, Order: outputs.Asc}
	for {
		page, err := e.store.Search(ctx, q)
		if err != nil {
			e.t.Fatalf("search store: %v", err)
		}
		all = append(all, page...)
		if len(page) < q.Limit {
			break
		}
		last := page[len(page)-1]
		q.After = &outputs.Cursor{Time: last.Time, ID: last.ID}
	}
	at := map[int64]int64{}
	rows, err := e.db.QueryContext(ctx, "SELECT event_id, stored_at FROM events")
	if err != nil {
		e.t.Fatalf("read stored_at: %v", err)
	}
	for rows.Next() {
		var id, ts int64
		if err := rows.Scan(&id, &ts); err != nil {
			e.t.Fatal(err)
		}
		at[id] = ts
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	_ = rows.Close()
	out := make([]stored, 0, len(all))
	for _, ev := range all {
		s := stored{id: ev.ID, seq: -1, storedAt: at[ev.ID]}
		if ev.Name == "scn" {
			s.file, _ = ev.Details["file"].(string)
			switch v := ev.Details["seq"].(type) {
			case json.Number:
				n, _ := v.Int64()
				s.seq = int(n)
			case float64:
				s.seq = int(v)
			case int64:
				s.seq = int(v)
			}
		}
		out = append(out, s)
	}
	return out
}

// present counts the distinct written audit lines found in got.
func (e *env) present(got []stored) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	seen := map[[2]any]bool{}
	n := 0
	for _, s := range got {
		k := [2]any{s.file, s.seq}
		if seen[k] {
			continue
		}
		seen[k] = true
		if s.seq >= 1 && s.seq <= len(e.want[s.file]) {
			n++
		}
	}
	return n
}

// waitStored polls the store until every audit line written so far is in
// it, or fails after timeout.
func (e *env) waitStored(timeout time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	want := e.written()
	for {
		got := e.events()
		n := e.present(got)
		if n >= want {
			return
		}
		if time.Now().After(deadline) {
			if os.Getenv("AUDITSHIP_TEST_LOGDIR") != "" {
				_ = pprof.Lookup("goroutine").WriteTo(os.Stderr, 1)
			}
			e.t.Fatalf("after %v the store holds %d of %d written audit lines", timeout, n, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitCount polls until the store holds at least n distinct written lines.
func (e *env) waitCount(n int, timeout time.Duration) {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if got := e.present(e.events()); got >= n {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("after %v the store holds fewer than %d audit lines", timeout, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// check waits until every written audit line is stored, then checks the
// store holds each exactly once, nothing else, with unique event ids, and
// that per file no line was stored before a line written ahead of it. Call
// it after the agent stopped, or when no more lines are expected.
func (e *env) check() {
	e.t.Helper()
	e.waitStored(90 * time.Second)
	got := e.events()
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := map[int64]bool{}
	count := map[string]map[int]int{}
	perFile := map[string][]stored{}
	errs := 0
	fail := func(format string, args ...any) {
		errs++
		if errs <= 20 {
			e.t.Errorf(format, args...)
		}
	}
	for _, s := range got {
		if ids[s.id] {
			fail("event_id %d stored twice", s.id)
		}
		ids[s.id] = true
		if s.file == "" || s.seq < 1 || s.seq > len(e.want[s.file]) {
			fail("stored event %d (file %q seq %d) was never written as an audit line", s.id, s.file, s.seq)
			continue
		}
		if count[s.file] == nil {
			count[s.file] = map[int]int{}
		}
		count[s.file][s.seq]++
		if count[s.file][s.seq] == 2 {
			fail("line %s/%d stored more than once", s.file, s.seq)
		}
		perFile[s.file] = append(perFile[s.file], s)
	}
	missing := 0
	for f, seqs := range e.want {
		for _, q := range seqs {
			if count[f][q] == 0 {
				missing++
				if missing <= 5 {
					fail("line %s/%d written but not stored", f, q)
				}
			}
		}
	}
	if missing > 0 {
		fail("%d written audit lines missing from the store", missing)
	}
	for f, ss := range perFile {
		slices.SortFunc(ss, func(a, b stored) int {
			if a.storedAt != b.storedAt {
				return cmpInt(a.storedAt, b.storedAt)
			}
			return a.seq - b.seq
		})
		for i := 1; i < len(ss); i++ {
			if ss[i].seq < ss[i-1].seq {
				fail("file %s: line %d stored in a later batch than line %d", f, ss[i-1].seq, ss[i].seq)
				break
			}
		}
	}
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

// deadLetters returns the records of the dead-letter file.
func (e *env) deadLetters() []deadletter.Record {
	e.t.Helper()
	recs, err := deadletter.ReadFile(filepath.Join(e.dataDir(), "deadletter.ndjson"))
	if err != nil {
		e.t.Fatal(err)
	}
	return recs
}

// noDeadLetters fails if anything was dead-lettered.
func (e *env) noDeadLetters() {
	e.t.Helper()
	for _, r := range e.deadLetters() {
		e.t.Errorf("dead-lettered: %s at %d: %s", r.Path, r.Offset, r.Reason)
	}
}

// lockedBuffer is an io.Writer safe for concurrent use that keeps the log.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Len()
}

// since returns what was written after the first n bytes.
func (l *lockedBuffer) since(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b.Bytes()[n:])
}

// tail returns the last n lines written.
func (l *lockedBuffer) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := strings.Split(l.b.String(), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

var _ io.Writer = (*lockedBuffer)(nil)
