package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/auditship/auditship/agent/config"
)

// TestPrintDiagnostics_MasksSecrets renders a diagnostic on a line holding
// a URL with a password and one on a password attribute: the source lines
// printed under them (which a reload writes to the log) must not show
// either secret, and the rest of the line must stay as written.
func TestPrintDiagnostics_MasksSecrets(t *testing.T) {
	t.Parallel()
	src := "output \"elasticsearch\" \"es\" { addresses = [\"https://elastic:s3cretPW@es:9200\"], bogus = 1 }\n" +
		"query { api_key_password = \"hunter22\" }\n"
	files := config.Files{"agent.hcl": {Bytes: []byte(src)}}
	var diags hcl.Diagnostics
	for line := 1; line <= 2; line++ {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Bad", Detail: "detail",
			Subject: &hcl.Range{Filename: "agent.hcl", Start: hcl.Pos{Line: line, Column: 1, Byte: strings.Index(src, "\n") * (line - 1)}, End: hcl.Pos{Line: line, Column: 5, Byte: strings.Index(src, "\n")*(line-1) + 4}},
		})
	}
	var b bytes.Buffer
	printDiagnostics(&b, files, diags)
	out := b.String()
	for _, secret := range []string{"s3cretPW", "hunter22"} {
		if strings.Contains(out, secret) {
			t.Errorf("diagnostics show %q:\n%s", secret, out)
		}
	}
	for _, kept := range []string{"https://elastic:xxxxxxxx@es:9200", `api_key_password = "xxxxxxxx"`} {
		if !strings.Contains(out, kept) {
			t.Errorf("diagnostics lack %q:\n%s", kept, out)
		}
	}
	if string(files["agent.hcl"].Bytes) != src {
		t.Error("printDiagnostics changed the parsed file")
	}
}
