package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/auditship/auditship/query"
)

// The keygen tests call run in-process and are not parallel: newApp shares
// flag values (configFlag, logFlags) that urfave/cli writes while parsing.

func TestKeygen(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"auditship", "keygen", "--name", "ci", "--role", "viewer"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d; stderr %s", code, stderr.String())
	}
	out := stdout.String()
	m := regexp.MustCompile(`(?m)^key: ([0-9a-f]{64})$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no key line in %q", out)
	}
	// The printed block passes the query block's validation.
	block := out[strings.Index(out, "api_key"):]
	src := "listen = \"127.0.0.1:0\"\n" + block
	p := filepath.Join(t.TempDir(), "q.hcl")
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	f, diags := hclparse.NewParser().ParseHCLFile(p)
	if diags.HasErrors() {
		t.Fatalf("parse printed block: %v\n%s", diags, src)
	}
	c := query.DefaultConfig()
	if diags := gohcl.DecodeBody(f.Body, nil, &c); diags.HasErrors() {
		t.Fatalf("decode printed block: %v", diags)
	}
	if diags := c.Validate(); diags.HasErrors() {
		t.Fatalf("printed block fails Validate: %v", diags)
	}
	if len(c.APIKeys) != 1 || c.APIKeys[0].Name != "ci" || c.APIKeys[0].Role != "viewer" || c.APIKeys[0].SHA256 != query.HashKey(m[1]) {
		t.Errorf("printed block %+v does not match the key", c.APIKeys)
	}
}

func TestKeygen_Refuses(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--role", ""}, "empty --role"},
		{[]string{"--role", "  "}, "empty --role"},
		{[]string{"--name", ""}, "is empty or has surrounding spaces"},
		{[]string{"--name", " ops"}, "is empty or has surrounding spaces"},
		{[]string{"--name", "superadmin"}, "is reserved"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"auditship", "keygen"}, tt.args...), &stdout, &stderr)
			if code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tt.want)
			}
		})
	}
}
