package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/auditship/auditship/agent/registry"
	"github.com/auditship/auditship/outputs"
	"github.com/auditship/auditship/outputs/sqlite"
)

// opsStored opens the embedded store under dataDir read-only, after the
// agent stopped, and returns "file/seq" → count of the e2e_item events, and
// the number of all events.
func opsStored(t *testing.T, dataDir, dbName string) (map[string]int, int) {
	t.Helper()
	s, err := sqlite.New(sqlite.Config{Path: dbName}, dataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.OpenReadOnly(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	evs, err := s.Search(ctx, outputs.Query{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, e := range evs {
		if e.Name == "e2e_item" {
			got[fmt.Sprintf("%v/%v", e.Details["file"], e.Details["seq"])]++
		}
	}
	return got, len(evs)
}

// TestOps_SIGTERMUnderLoadResumesExactly stops the agent with SIGTERM while
// lines stream in and checks the registry it leaves: each offset ends a
// line, every audit line before it is stored and none after it is, so the
// next start neither skips nor repeats a line; the next start then stores
// the rest.
func TestOps_SIGTERMUnderLoadResumesExactly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg, addr := testConfig(t, dir, "")
	w := newWriter(t, dir)
	w.write("a.log", 200)
	p := startAgent(t, cfg, addr)

	var wg sync.WaitGroup
	stopAt := make(chan struct{})
	wg.Go(func() {
		for i := range 40 {
			w.write(fmt.Sprintf("f%d.log", i%3), 40)
			if i == 15 {
				close(stopAt)
			}
			time.Sleep(2 * time.Millisecond)
		}
	})
	<-stopAt
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
	}
	wg.Wait()

	reg, err := registry.Open(filepath.Join(dir, "data", "registry.json"), 0)
	if err != nil {
		t.Fatal(err)
	}
	offsets := map[string]int64{}
	for _, e := range reg.Entries() {
		offsets[filepath.Base(e.Path)] = e.Offset
	}
	stored, _ := opsStored(t, filepath.Join(dir, "data"), "audit.db")
	files, _ := filepath.Glob(filepath.Join(dir, "logs", "*.log"))
	before, after := 0, 0
	for _, f := range files {
		name := filepath.Base(f)
		off := offsets[name]
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if off > int64(len(b)) || (off > 0 && b[off-1] != '\n') {
			t.Errorf("%s: offset %d is not the end of a line", name, off)
		}
		var end int64
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			end += int64(len(sc.Bytes())) + 1
			var l struct {
				Msg   string `json:"msg"`
				Audit struct {
					Details struct {
						Seq  int    `json:"seq"`
						File string `json:"file"`
					} `json:"details"`
				} `json:"audit"`
			}
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l.Msg != "audit" {
				continue
			}
			key := fmt.Sprintf("%s/%d", l.Audit.Details.File, l.Audit.Details.Seq)
			switch {
			case end <= off && stored[key] != 1:
				t.Errorf("%s: %s is before the offset %d but stored %d times", name, key, off, stored[key])
			case end > off && stored[key] != 0:
				t.Errorf("%s: %s is after the offset %d but stored: a restart would read it again", name, key, off)
			case end <= off:
				before++
			default:
				after++
			}
		}
	}
	t.Logf("at SIGTERM: %d audit lines acknowledged, %d left to read", before, after)

	p = startAgent(t, cfg, addr)
	w.check(addr)
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
	}
}

// TestOps_OnceBackfillsExamples runs `agent --once` over the example logs
// with the default agent.hcl: exit 0, every audit line stored, and no
// progress bar when standard error is not a terminal.
func TestOps_OnceBackfillsExamples(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	copyFile(t, "../../agent.hcl", filepath.Join(dir, "agent.hcl"))
	logs, _ := filepath.Glob("../../examples/logs/*.log")
	want := 0
	for _, l := range logs {
		copyFile(t, l, filepath.Join(dir, "examples", "logs", filepath.Base(l)))
		b, err := os.ReadFile(l)
		if err != nil {
			t.Fatal(err)
		}
		want += bytes.Count(b, []byte(`"msg":"audit"`))
	}
	cmd := exec.Command(binPath, "agent", "--once", "--config", filepath.Join(dir, "agent.hcl"))
	cmd.Env = append(os.Environ(), "AUDITSHIP_SUPERADMIN_KEY="+testKey)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("agent --once: %v\n%s", err, stderr.String())
	}
	if s := stderr.String(); strings.Contains(s, "backfill") || strings.Contains(s, "\r") {
		t.Errorf("progress bar drawn although standard error is not a terminal:\n%s", s)
	}
	_, n := opsStored(t, filepath.Join(dir, "data"), "audit.db")
	if n != want || want == 0 {
		t.Errorf("%d events stored, want the %d audit lines of the example logs", n, want)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOps_SIGHUPReload breaks the config and sends SIGHUP (the error is
// logged with file:line:col and the agent keeps running), then adds an input
// and sends SIGHUP again: the new input's lines are stored, nothing is lost
// or stored twice.
func TestOps_SIGHUPReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg, addr := testConfig(t, dir, "")
	good, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := newWriter(t, dir)
	w.write("a.log", 30)
	p := startAgent(t, cfg, addr)
	w.check(addr)

	broken := strings.Replace(string(good), "  paths = [", "  pathz = [", 1)
	if err := os.WriteFile(cfg, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	wantLoc := fmt.Sprintf("agent.hcl:%d:3", lineOf(broken, "pathz"))
	waitLog(t, p, func(s string) bool {
		return strings.Contains(s, "reload: configuration invalid") && strings.Contains(s, wantLoc)
	}, "the invalid config logged with "+wantLoc)
	w.write("a.log", 10)
	w.check(addr)

	other := strings.Replace(string(good), `input "file" "app" {`, `input "file" "other" {
  paths = ["other/*.log"]
  scan_interval = "200ms"
  parser "json" {}
  mapping {
    when          = record.msg == "audit"
    event_time    = record.ts
    event_name    = record.audit.resource
    event_type    = record.audit.action
    event_details = record.audit.details
    user_uid      = record.audit.user_uid
  }
}

input "file" "app" {`, 1)
	if err := os.WriteFile(cfg, []byte(other), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "other"), 0o755); err != nil {
		t.Fatal(err)
	}
	w.write("../other/o.log", 20)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, p, func(s string) bool { return strings.Contains(s, "configuration reloaded") }, "the reload")
	w.write("a.log", 10)
	w.write("../other/o.log", 10)
	w.check(addr)
	if err := p.stop(t, syscall.SIGTERM); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
	}
}

func waitLog(t *testing.T, p *agentProc, ok func(string) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		s := p.stderrString()
		if ok(s) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; log:\n%s", what, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stderrString returns what the agent wrote to standard error so far.
func (p *agentProc) stderrString() string {
	lw := p.cmd.Stderr.(*lockedWriter)
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return p.stderr.String()
}
