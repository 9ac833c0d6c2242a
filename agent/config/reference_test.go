package config

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/auditship/auditship/outputs/elasticsearch"
	"github.com/auditship/auditship/outputs/file"
	"github.com/auditship/auditship/outputs/sqlite"
	"github.com/auditship/auditship/parsers/json"
	"github.com/auditship/auditship/parsers/logfmt"
	"github.com/auditship/auditship/parsers/mapping"
	"github.com/auditship/auditship/parsers/regex"
	"github.com/auditship/auditship/parsers/schema"
	"github.com/auditship/auditship/parsers/syslog"
	"github.com/auditship/auditship/query"
)

// referenceBlocks maps each section of docs/configuration.md to the config
// structs whose gohcl tags are that block's attributes and blocks.
var referenceBlocks = map[string][]any{
	"Root":                   {rootHCL{}},
	"pipeline":               {pipelineHCL{}},
	"dead_letter":            {deadLetterHCL{}},
	"http":                   {httpHCL{}},
	`input "file"`:           {fileInputHCL{}},
	`parser "json"`:          {json.Config{}},
	`parser "logfmt"`:        {logfmt.Config{}},
	`parser "regex"`:         {regex.Config{}},
	`parser "syslog"`:        {syslog.Config{}},
	"mapping":                {mapping.Block{}},
	"schemas":                {schema.Settings{}},
	"schema":                 {schema.Block{}},
	`output "sqlite"`:        {sqlite.Config{}},
	`output "elasticsearch"`: {elasticsearch.Config{}},
	`output "file"`:          {file.Config{}},
	"query":                  {queryHCL{}, query.Config{}},
	"api_key":                {query.KeyBlock{}},
}

// hclNames returns the attribute and block names of the gohcl tags of the
// struct v (labels, ranges and remain bodies are not user keys).
func hclNames(v any) []string {
	var names []string
	t := reflect.TypeOf(v)
	for i := range t.NumField() {
		tag, ok := t.Field(i).Tag.Lookup("hcl")
		if !ok {
			continue
		}
		name, kind, _ := strings.Cut(tag, ",")
		switch kind {
		case "", "attr", "optional", "block":
			if name != "" {
				names = append(names, name)
			}
		}
	}
	return names
}

// docSections splits the reference into `## heading` sections and returns,
// per heading, its text and the attribute names of its table rows.
func docSections(t *testing.T) (map[string]string, map[string][]string) {
	t.Helper()
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	text := map[string]string{}
	rows := map[string][]string{}
	row := regexp.MustCompile("^\\| `([a-z0-9_]+)` \\|")
	var cur string
	for _, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			cur = strings.TrimSpace(h)
			continue
		}
		if cur == "" {
			continue
		}
		text[cur] += line + "\n"
		if m := row.FindStringSubmatch(line); m != nil {
			rows[cur] = append(rows[cur], m[1])
		}
	}
	return text, rows
}

// TestReference_DocumentsEveryAttribute fails when a block or attribute the
// code decodes is missing from docs/configuration.md (in the table of its
// block's section), or the document lists one the code does not know.
func TestReference_DocumentsEveryAttribute(t *testing.T) {
	t.Parallel()
	_, rows := docSections(t)
	for section, structs := range referenceBlocks {
		var want []string
		for _, s := range structs {
			want = append(want, hclNames(s)...)
		}
		got, ok := rows[section]
		if !ok {
			t.Errorf("docs/configuration.md has no section %q", "## "+section)
			continue
		}
		for _, n := range want {
			if !slices.Contains(got, n) {
				t.Errorf("section %q does not document %q", section, n)
			}
		}
		for _, n := range got {
			if !slices.Contains(want, n) {
				t.Errorf("section %q documents %q, which the code does not decode", section, n)
			}
		}
	}
	for typ := range decoders {
		if _, ok := referenceBlocks[`parser "`+typ+`"`]; !ok {
			t.Errorf("parser %q has no entry in referenceBlocks (and maybe no section in the reference)", typ)
		}
	}
	for typ := range outputTypes {
		if _, ok := referenceBlocks[`output "`+typ+`"`]; !ok {
			t.Errorf("output %q has no entry in referenceBlocks (and maybe no section in the reference)", typ)
		}
	}
}

// TestReference_ExamplesParse checks that every example of the reference
// is valid HCL syntax.
func TestReference_ExamplesParse(t *testing.T) {
	t.Parallel()
	text, _ := docSections(t)
	re := regexp.MustCompile("(?s)```hcl\n(.*?)```")
	n := 0
	for section, s := range text {
		for _, m := range re.FindAllStringSubmatch(s, -1) {
			n++
			src := strings.ReplaceAll(m[1], "{ ... }", "{}")
			if _, diags := hclparse.NewParser().ParseHCL([]byte(src), "example.hcl"); diags.HasErrors() {
				t.Errorf("section %q: example is not valid HCL: %s", section, diags.Error())
			}
		}
	}
	if n < len(referenceBlocks) {
		t.Errorf("%d examples, want at least one per section (%d)", n, len(referenceBlocks))
	}
}
