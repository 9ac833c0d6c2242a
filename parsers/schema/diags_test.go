package schema

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// TestNew_Diagnostics renders the diagnostics of every
// testdata/diags/<case>.hcl and compares them with <case>.golden.
func TestNew_Diagnostics(t *testing.T) {
	t.Parallel()
	cases, err := filepath.Glob(filepath.Join("testdata", "diags", "*.hcl"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases in testdata/diags: %v", err)
	}
	for _, path := range cases {
		name := strings.TrimSuffix(filepath.Base(path), ".hcl")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			filename := filepath.Base(path)
			c, f, diags := load(src, filename)
			if !diags.HasErrors() {
				t.Fatalf("load: want errors, got none")
			}
			if c != nil {
				t.Errorf("load: got a catalog along with errors")
			}
			for _, d := range diags {
				if d.Subject == nil {
					t.Errorf("diagnostic %q has no Subject", d.Summary)
				}
			}
			var buf bytes.Buffer
			w := hcl.NewDiagnosticTextWriter(&buf, map[string]*hcl.File{filename: f}, 78, false)
			if err := w.WriteDiagnostics(diags); err != nil {
				t.Fatal(err)
			}
			// The text writer shows only the line: pin the exact ranges too.
			for _, d := range diags {
				fmt.Fprintf(&buf, "subject of %q: %s\n", d.Summary, d.Subject)
			}
			golden := strings.TrimSuffix(path, ".hcl") + ".golden"
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden (run with -update to create): %v", err)
			}
			if diff := cmp.Diff(string(want), buf.String()); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}
