package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestLoad_Examples loads the default agent.hcl and every example config: an
// example that does not load is a broken promise to users.
func TestLoad_Examples(t *testing.T) {
	t.Parallel()
	files := []string{"../../agent.hcl"}
	more, err := filepath.Glob("../../examples/*/*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, more...)
	more, _ = filepath.Glob("../../examples/*.hcl")
	files = append(files, more...)
	for _, f := range files {
		t.Run(strings.TrimPrefix(f, "../../"), func(t *testing.T) {
			t.Parallel()
			cfg, files, diags := Load(f)
			if diags.HasErrors() {
				var b bytes.Buffer
				_ = hcl.NewDiagnosticTextWriter(&b, files, 100, false).WriteDiagnostics(diags)
				t.Fatalf("load %s:\n%s", f, b.String())
			}
			if len(cfg.Inputs) == 0 || len(cfg.Outputs) == 0 {
				t.Fatalf("%s: %d inputs, %d outputs", f, len(cfg.Inputs), len(cfg.Outputs))
			}
		})
	}
}

func TestLoad_Defaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "agent.hcl")
	src := `
input "file" "app" {
  paths = ["logs/*.log"]
  parser "json" {}
  mapping {
    event_time = record.ts
    event_name = record.name
    event_type = record.type
    user_uid   = record.uid
  }
}
output "sqlite" "store" {}
`
	if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _, diags := Load(p)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	got := struct {
		DataDir, DeadLetter string
		Paths               []string
		BatchEvents         int
		Query               bool
	}{cfg.DataDir, cfg.DeadLetter.Path, cfg.Inputs[0].Tailer.Paths, cfg.Pipeline.BatchEvents, cfg.Query != nil}
	want := struct {
		DataDir, DeadLetter string
		Paths               []string
		BatchEvents         int
		Query               bool
	}{filepath.Join(dir, "data"), filepath.Join(dir, "data", "deadletter.ndjson"), []string{filepath.Join(dir, "logs/*.log")}, 1000, false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

// TestLoad_Diagnostics renders the diagnostics of broken configs and compares
// them with testdata/<case>.golden (go test -update rewrites them).
func TestLoad_Diagnostics(t *testing.T) {
	t.Parallel()
	cases, err := filepath.Glob("testdata/*.hcl")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no testdata/*.hcl cases")
	}
	for _, c := range cases {
		t.Run(strings.TrimSuffix(filepath.Base(c), ".hcl"), func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(c)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Base(c)
			_, files, diags := Parse(src, name)
			if !diags.HasErrors() {
				t.Fatalf("%s loaded without errors", c)
			}
			var b bytes.Buffer
			for _, d := range diags {
				if d.Subject == nil {
					t.Errorf("diagnostic %q has no Subject", d.Summary)
					continue
				}
				b.WriteString(d.Subject.Filename + ":" + itoa(d.Subject.Start.Line) + ":" + itoa(d.Subject.Start.Column) + ": " + d.Summary + ": " + d.Detail + "\n")
			}
			b.WriteString("\n")
			_ = hcl.NewDiagnosticTextWriter(&b, files, 100, false).WriteDiagnostics(diags)
			golden := strings.TrimSuffix(c, ".hcl") + ".golden"
			if *update {
				if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
