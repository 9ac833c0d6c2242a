package mapping

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

var update = flag.Bool("update", false, "rewrite testdata/diags/*.golden")

// TestCompile_Diagnostics decodes and compiles every
// testdata/diags/<case>.hcl and compares the rendered diagnostics with
// <case>.golden (empty for a valid mapping). Run with -update to rewrite.
func TestCompile_Diagnostics(t *testing.T) {
	t.Parallel()
	cases, err := filepath.Glob(filepath.Join("testdata", "diags", "*.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases in testdata/diags")
	}
	for _, path := range cases {
		name := strings.TrimSuffix(filepath.Base(path), ".hcl")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b, files, diags := decodeBlock(t, filepath.ToSlash(path), src)
			if !diags.HasErrors() {
				_, cdiags := Compile(b)
				diags = append(diags, cdiags...)
			}
			for _, d := range diags {
				if d.Subject == nil {
					t.Errorf("diagnostic %q has no Subject", d.Summary)
				}
			}
			// A compact file:line:col list first, then the form users see.
			var got bytes.Buffer
			for _, d := range diags {
				if d.Subject != nil {
					fmt.Fprintf(&got, "%s:%d:%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
				}
				fmt.Fprintf(&got, "%s: %s\n", d.Summary, d.Detail)
			}
			if len(diags) > 0 {
				got.WriteString("\n")
			}
			if err := hcl.NewDiagnosticTextWriter(&got, files, 100, false).WriteDiagnostics(diags); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(path, ".hcl") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got.String()); diff != "" {
				t.Errorf("diagnostics (-want +got):\n%s", diff)
			}
		})
	}
}
