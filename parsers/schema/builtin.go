package schema

import (
	_ "embed"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

//go:embed builtin.hcl
var builtinHCL []byte

// BuiltinFilename is the file name diagnostics give for built-in schemas.
const BuiltinFilename = "builtin.hcl"

// blockFile is the shape of a file of schema blocks.
type blockFile struct {
	Schemas []Block `hcl:"schema,block"`
}

// Builtin returns the built-in schemas, one Block per `schema` block of the
// embedded builtin.hcl, in file order: every auditable action of the
// platform (annotation, application, batch, training_set, dataset,
// datasource, lf, user, user_role, api_key, login, workspace,
// external_llm_config, custom_pip_install) and audit_log reads. Each call
// returns fresh Blocks.
func Builtin() []Block {
	blocks, diags := parseBlocks(builtinHCL, BuiltinFilename)
	if diags.HasErrors() {
		// builtin.hcl is compiled in and tested: a failure is a bug.
		panic(fmt.Sprintf("schema: invalid %s: %s", BuiltinFilename, diags.Error()))
	}
	return blocks
}

// parseBlocks parses src, a file holding only schema blocks.
func parseBlocks(src []byte, filename string) ([]Block, hcl.Diagnostics) {
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	var bf blockFile
	diags = append(diags, gohcl.DecodeBody(f.Body, nil, &bf)...)
	return bf.Schemas, diags
}
