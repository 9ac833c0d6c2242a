package schema

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/auditship/auditship/event"
)

// testFile is an agent.hcl reduced to what this package reads.
type testFile struct {
	Settings *struct {
		Body hcl.Body `hcl:",remain"`
	} `hcl:"schemas,block"`
	Schemas []Block `hcl:"schema,block"`
}

// load parses src as a config file and builds a catalog from it.
func load(src []byte, filename string) (*Catalog, *hcl.File, hcl.Diagnostics) {
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, f, diags
	}
	var tf testFile
	diags = append(diags, gohcl.DecodeBody(f.Body, nil, &tf)...)
	var body hcl.Body
	if tf.Settings != nil {
		body = tf.Settings.Body
	}
	s, sDiags := DecodeSettings(body)
	diags = append(diags, sDiags...)
	if diags.HasErrors() {
		return nil, f, diags
	}
	c, cDiags := New(s, tf.Schemas)
	return c, f, append(diags, cDiags...)
}

// mustLoad is load for configs that must be valid.
func mustLoad(t testing.TB, src string) *Catalog {
	t.Helper()
	c, _, diags := load([]byte(src), "test.hcl")
	if diags.HasErrors() {
		t.Fatalf("load config: %s", diags.Error())
	}
	return c
}

// details decodes a JSON object the way parsers do (numbers as json.Number).
func details(t testing.TB, js string) map[string]any {
	t.Helper()
	d, err := event.UnmarshalDetails([]byte(js))
	if err != nil {
		t.Fatalf("decode details %s: %v", js, err)
	}
	return d
}
