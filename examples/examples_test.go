package examples_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"go.uber.org/goleak"

	"github.com/auditship/auditship/agent"
	"github.com/auditship/auditship/agent/config"
	"github.com/auditship/auditship/agent/deadletter"
	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
)

var update = flag.Bool("update", false, "rewrite testdata/real/*/want.json and want-deadletter.json")

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// realRoot is the folder of the real log samples, relative to this package.
const realRoot = "../testdata/real"

// sources lists every example of a real source: its folder name (the same
// under examples/ and testdata/real/) and, per input block of its agent.hcl,
// the testdata files that stand in for the production paths.
var sources = []struct {
	name   string
	inputs map[string][]string // input name → globs under testdata/real/<name>
}{
	{"k8s-audit", map[string][]string{"kube-apiserver": {"*.json"}}},
	{"vault-audit", map[string][]string{"vault": {"*.log"}}},
	{"gitlab", map[string][]string{"gitlab-audit": {"audit_json.log"}, "gitlab-application": {"application_json.*.log"}}},
	{"cloudtrail", map[string][]string{"cloudtrail": {"*.jsonl"}}},
	{"auditd", map[string][]string{"auditd": {"*.log"}}},
	{"logfmt", map[string][]string{"virtual-kubelet": {"lnav_logfile_logfmt.*.log"}, "grafana": {"lnav_logfile_grafana.*.log"}}},
	{"teleport-audit", map[string][]string{"teleport": {"*.log"}}},
}

// deadLetter is the part of a dead-letter record a golden file keeps: the
// rest (time, absolute path) differs between runs.
type deadLetter struct {
	File   string `json:"file"`
	Offset int64  `json:"offset"`
	Reason string `json:"reason"`
}

// TestExamples_Golden runs the real agent once over each real source's
// testdata with the source's example config and compares what the store
// holds, and what was dead-lettered, with the golden files.
func TestExamples_Golden(t *testing.T) {
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			t.Parallel()
			cfg := loadExample(t, filepath.Join(src.name, "agent.hcl"))
			dir := t.TempDir()
			cfg.DataDir = dir
			cfg.DeadLetter.Path = filepath.Join(dir, "deadletter.ndjson")
			cfg.Query = nil
			cfg.Pipeline.FlushInterval = 10 * time.Millisecond
			testdata, err := filepath.Abs(filepath.Join(realRoot, src.name))
			if err != nil {
				t.Fatal(err)
			}
			for i := range cfg.Inputs {
				in := &cfg.Inputs[i]
				globs, ok := src.inputs[in.Name]
				if !ok {
					t.Fatalf("input %q of the example has no testdata in this test's table", in.Name)
				}
				in.Tailer.Paths = nil
				for _, g := range globs {
					matches, _ := filepath.Glob(filepath.Join(testdata, g))
					if len(matches) == 0 {
						t.Fatalf("input %q: no testdata file matches %q", in.Name, g)
					}
					in.Tailer.Paths = append(in.Tailer.Paths, filepath.Join(testdata, g))
				}
				// The golden files sit beside the logs.
				in.Tailer.Exclude = append(in.Tailer.Exclude, "want.json", "want-deadletter.json")
				in.Tailer.Once = true
			}
			if len(cfg.Inputs) != len(src.inputs) {
				t.Fatalf("example has %d input(s), the table lists %d", len(cfg.Inputs), len(src.inputs))
			}

			a, err := agent.New(cfg, slog.New(slog.DiscardHandler), agent.Options{Once: true})
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Run(t.Context()); err != nil {
				t.Fatalf("agent run: %v", err)
			}
			if a.Stats().LinesRead.Load() == 0 {
				t.Fatal("the agent read no line")
			}

			got := storedEvents(t, cfg)
			if len(got) == 0 {
				t.Error("no event stored: the example maps nothing of its source")
			}
			compareGolden(t, filepath.Join(testdata, "want.json"), got)

			recs, err := deadletter.ReadFile(cfg.DeadLetter.Path)
			if err != nil {
				t.Fatal(err)
			}
			dls := make([]deadLetter, 0, len(recs))
			for _, r := range recs {
				dls = append(dls, deadLetter{File: filepath.Base(r.Path), Offset: r.Offset, Reason: r.Reason})
			}
			slices.SortFunc(dls, func(a, b deadLetter) int {
				if c := strings.Compare(a.File, b.File); c != 0 {
					return c
				}
				return int(a.Offset - b.Offset)
			})
			compareGolden(t, filepath.Join(testdata, "want-deadletter.json"), dls)
		})
	}
}

// TestExamples_EveryRealSource checks that every folder of testdata/real has
// an example config and an entry in the golden test, and the reverse.
func TestExamples_EveryRealSource(t *testing.T) {
	entries, err := os.ReadDir(realRoot)
	if err != nil {
		t.Fatal(err)
	}
	var dirs, listed []string
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, e.Name())
			if _, err := os.Stat(filepath.Join(e.Name(), "agent.hcl")); err != nil {
				t.Errorf("testdata/real/%s has no examples/%s/agent.hcl", e.Name(), e.Name())
			}
			if _, err := os.Stat(filepath.Join(realRoot, e.Name(), "PROVENANCE.md")); err != nil {
				t.Errorf("testdata/real/%s has no PROVENANCE.md", e.Name())
			}
		}
	}
	for _, s := range sources {
		listed = append(listed, s.name)
	}
	slices.Sort(listed)
	if diff := cmp.Diff(dirs, listed); diff != "" {
		t.Errorf("testdata/real folders vs golden test table (-dirs +table):\n%s", diff)
	}
}

func loadExample(t *testing.T, path string) *config.Config {
	t.Helper()
	cfg, files, diags := config.Load(path)
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = hcl.NewDiagnosticTextWriter(&b, files, 100, false).WriteDiagnostics(diags)
		t.Fatalf("load %s:\n%s", path, b.String())
	}
	return cfg
}

// storedEvents reads back every event of the config's first output, oldest
// first.
func storedEvents(t *testing.T, cfg *config.Config) []event.Event {
	t.Helper()
	o, err := agent.NewOutput(cfg.Outputs[0], cfg.DataDir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if op, ok := o.(outputs.Opener); ok {
		if err := op.Open(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		if err := o.Close(t.Context()); err != nil {
			t.Error(err)
		}
	}()
	s, ok := o.(outputs.Searcher)
	if !ok {
		t.Fatalf("output %q cannot be searched", cfg.Outputs[0].Name)
	}
	evs, err := s.Search(t.Context(), outputs.Query{Limit: 10000, Order: outputs.Asc})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

// compareGolden compares v, as indented JSON, with the file at path; with
// -update it rewrites the file instead. An empty list is "no file".
func compareGolden[T any](t *testing.T, path string, v []T) {
	t.Helper()
	var got []byte
	if len(v) > 0 {
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		got = append(b, '\n')
	}
	if *update {
		if got == nil {
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			return
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; rerun with -update to accept):\n%s", path, diff)
	}
}

// TestCloudTrail_JSONLIsTheRecords checks that the JSON lines the cloudtrail
// golden test reads are the Records of the CloudTrail file beside them, one
// per line, in order (the pre-step of examples/cloudtrail/README.md).
func TestCloudTrail_JSONLIsTheRecords(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(realRoot, "cloudtrail")
	doc, err := os.ReadFile(filepath.Join(dir, "otel_cloudtrail_log.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct{ Records []any }
	if err := json.Unmarshal(doc, &file); err != nil {
		t.Fatal(err)
	}
	lines, err := os.ReadFile(filepath.Join(dir, "otel_cloudtrail_log.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var got []any
	for l := range strings.SplitSeq(strings.TrimSuffix(string(lines), "\n"), "\n") {
		var v any
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		got = append(got, v)
	}
	if len(file.Records) == 0 {
		t.Fatal("no records")
	}
	if diff := cmp.Diff(file.Records, got); diff != "" {
		t.Errorf("jsonl vs Records (-records +jsonl):\n%s", diff)
	}
}
