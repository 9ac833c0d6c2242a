package elasticsearch

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func TestConfig_DecodeHCL(t *testing.T) {
	t.Parallel()
	src := `
addresses     = ["https://es:9200"]
username      = "auditship"
password_env  = "ES_PASSWORD"
index_prefix  = "audit"
flush_events  = 0
`
	f, diags := hclsyntax.ParseConfig([]byte(src), "agent.hcl", hcl.InitialPos)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	c := DefaultConfig()
	if diags := gohcl.DecodeBody(f.Body, nil, &c); diags.HasErrors() {
		t.Fatal(diags)
	}
	if c.Alias != "" || c.alias() != "audit" || c.FlushBytes != DefaultFlushBytes || c.RequestTimeout != "30s" {
		t.Errorf("decoded %+v", c)
	}
	diags = c.Validate()
	if len(diags) != 1 || diags[0].Summary != "Invalid flush_events" || diags[0].Subject == nil || diags[0].Subject.Start.Line != 6 {
		t.Fatalf("Validate = %v, want one Invalid flush_events on line 6", diags)
	}
}
