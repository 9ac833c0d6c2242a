package json

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"unsafe"

	"github.com/hashicorp/hcl/v2"

	"github.com/auditship/auditship/parsers"
	"github.com/auditship/auditship/parsers/internal/dotted"
)

// Config is the body of a `parser "json" { ... }` block.
type Config struct {
	// ExpandDottedKeys makes a dotted top-level key ("user.name") reachable
	// as a nested path (record.user.name) by moving it into nested objects;
	// see the package doc for conflicts. Default true.
	ExpandDottedKeys bool `hcl:"expand_dotted_keys,optional"`

	// Block is where the parser block is defined, the Subject of diagnostics
	// about absent keys. gohcl fills it only when decoding a block; after the
	// second pass (DecodeBody of the block's remain body) the config loader
	// copies the parser block's DefRange here.
	Block hcl.Range `hcl:",def_range"`
}

// DefaultConfig returns the defaults: expand_dotted_keys = true.
func DefaultConfig() Config {
	return Config{ExpandDottedKeys: true}
}

// Validate reports problems in c. It does no I/O. Every combination of json
// settings is valid, so it returns no diagnostics; it exists so all parser
// configs are checked the same way.
func (c *Config) Validate() hcl.Diagnostics {
	return nil
}

// Decoder reads one JSON object per line. It is safe for concurrent use.
type Decoder struct {
	expand bool
	keep   []string // nil: every top-level key; see Project
}

var (
	_ parsers.Decoder      = (*Decoder)(nil)
	_ parsers.Projector    = (*Decoder)(nil)
	_ parsers.OwnedDecoder = (*Decoder)(nil)
)

// Project returns a Decoder whose records hold only the top-level keys whose
// part before the first '.' is that of one of keys (see
// [parsers.Projector]). The values of the other keys are still checked,
// byte for byte as [Decoder.Decode] checks them, but not built, which makes
// a line whose mapping reads a few keys several times cheaper to decode.
func (d *Decoder) Project(keys []string) parsers.Decoder {
	keep := make([]string, 0, len(keys)) // non-nil even when empty
	for _, k := range keys {
		k, _, _ = strings.Cut(k, ".")
		if !slices.Contains(keep, k) {
			keep = append(keep, k)
		}
	}
	return &Decoder{expand: d.expand, keep: keep}
}

// New returns a Decoder for c.
func New(c Config) (*Decoder, error) {
	if diags := c.Validate(); diags.HasErrors() {
		return nil, fmt.Errorf("json parser config: %s", diags.Error())
	}
	return &Decoder{expand: c.ExpandDottedKeys}, nil
}

var bom = []byte("\xEF\xBB\xBF")

// Decode parses line, which must hold one JSON object. Numbers come back as
// json.Number, exactly as written. A blank line returns an error wrapping
// [parsers.ErrSkip]; anything else that is not one well-formed JSON object in
// valid UTF-8 returns an error such as "invalid JSON at byte 17: ...", with the
// offset counted in bytes from 0. The Record does not alias line.
func (d *Decoder) Decode(line []byte) (parsers.Record, error) {
	line = bytes.TrimPrefix(line, bom)
	return d.decode(line, string(line))
}

// DecodeOwned is [Decoder.Decode] for a line that the caller never modifies
// again (see [parsers.OwnedDecoder]): the strings of the Record are the
// line's own bytes rather than a copy of them.
func (d *Decoder) DecodeOwned(line []byte) (parsers.Record, error) {
	line = bytes.TrimPrefix(line, bom)
	return d.decode(line, unsafe.String(unsafe.SliceData(line), len(line)))
}

// decode parses line; text holds the same bytes as a string, and the
// Record's plain strings are substrings of it.
func (d *Decoder) decode(line []byte, text string) (parsers.Record, error) {
	s := scanner{b: line, text: text, keep: d.keep}
	if err := s.top(); err != nil {
		return nil, err
	}
	rec, err := s.object()
	if err != nil {
		return nil, err
	}
	if err := s.end(); err != nil {
		return nil, err
	}
	if d.expand && s.dotted {
		dotted.Expand(rec)
	}
	return rec, nil
}
