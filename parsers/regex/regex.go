package regex

import (
	"bytes"
	"fmt"
	"regexp"

	"github.com/hashicorp/hcl/v2"

	"github.com/auditship/auditship/parsers"
)

// Config is the body of a `parser "regex" { ... }` block.
type Config struct {
	// Pattern is an RE2 regular expression (Go regexp syntax) with at least
	// one named capture group, `(?P<name>...)` or `(?<name>...)`; each named
	// group becomes a string field. Unnamed groups are ignored. Required.
	Pattern string `hcl:"pattern,optional"`

	// PatternAt is the range of the pattern value, for diagnostics.
	PatternAt hcl.Range `hcl:"pattern,attr_value_range"`

	// Block is where the parser block is defined, the Subject of diagnostics
	// about absent keys. gohcl fills it only when decoding a block; after the
	// second pass (DecodeBody of the block's remain body) the config loader
	// copies the parser block's DefRange here.
	Block hcl.Range `hcl:",def_range"`
}

// DefaultConfig returns the defaults: no pattern (one must be set).
func DefaultConfig() Config {
	return Config{}
}

// Validate reports problems in c: a missing pattern, one that does not
// compile, or one without named groups. It does no I/O.
func (c *Config) Validate() hcl.Diagnostics {
	var diags hcl.Diagnostics
	if c.Pattern == "" {
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing pattern",
			Detail:   `The regex parser needs pattern = "..." : an RE2 expression with named groups such as (?P<user>\S+).`,
			Subject:  c.Block.Ptr(),
		})
	}
	subject := c.PatternAt.Ptr()
	if c.PatternAt.Empty() && c.PatternAt.Filename == "" {
		subject = c.Block.Ptr()
	}
	re, err := regexp.Compile(c.Pattern)
	if err != nil {
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid pattern",
			Detail:   fmt.Sprintf("The pattern %q is not a valid RE2 expression: %s.", c.Pattern, err),
			Subject:  subject,
		})
	}
	if !hasNamedGroup(re) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid pattern",
			Detail:   fmt.Sprintf("The pattern %q has no named capture group; add at least one such as (?P<user>\\S+), as only named groups become fields.", c.Pattern),
			Subject:  subject,
		})
	}
	return diags
}

func hasNamedGroup(re *regexp.Regexp) bool {
	for _, n := range re.SubexpNames() {
		if n != "" {
			return true
		}
	}
	return false
}

// Decoder extracts named groups from lines. It is safe for concurrent use.
type Decoder struct {
	re    *regexp.Regexp
	names []string // index → group name, "" for unnamed groups
}

var _ parsers.Decoder = (*Decoder)(nil)

// New compiles c.Pattern and returns a Decoder.
func New(c Config) (*Decoder, error) {
	if diags := c.Validate(); diags.HasErrors() {
		return nil, fmt.Errorf("regex parser config: %s", diags.Error())
	}
	re := regexp.MustCompile(c.Pattern) // checked by Validate
	return &Decoder{re: re, names: re.SubexpNames()}, nil
}

// Decode matches line against the pattern (unanchored unless the pattern
// says ^ or $) and returns one string field per named group. A group that
// did not take part in the match is absent; a group that matched nothing is
// "". When two groups share a name, the last one that took part wins. A
// blank line or a line that does not match returns an error wrapping
// [parsers.ErrSkip]: with a regex, a non-matching line is one that is not
// an audit line. Bytes are kept as they are, invalid UTF-8 included. The
// Record does not alias line.
func (d *Decoder) Decode(line []byte) (parsers.Record, error) {
	line = bytes.TrimRight(line, "\r")
	if len(bytes.TrimLeft(line, " \t\v\f\n")) == 0 {
		return nil, fmt.Errorf("blank line: %w", parsers.ErrSkip)
	}
	m := d.re.FindSubmatchIndex(line)
	if m == nil {
		return nil, fmt.Errorf("line does not match the pattern: %w", parsers.ErrSkip)
	}
	rec := make(parsers.Record, len(d.names))
	for i, name := range d.names {
		if name == "" || m[2*i] < 0 {
			continue
		}
		rec[name] = string(line[m[2*i]:m[2*i+1]])
	}
	return rec, nil
}
