package logfmt

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/go-logfmt/logfmt"
	"github.com/hashicorp/hcl/v2"

	"github.com/auditship/auditship/parsers"
	"github.com/auditship/auditship/parsers/internal/dotted"
)

// Config is the body of a `parser "logfmt" { ... }` block.
type Config struct {
	// ExpandDottedKeys makes a dotted key ("user.id=4") reachable as a nested
	// path (record.user.id) by moving it into nested maps, with the same rule
	// as the json parser. Default true.
	ExpandDottedKeys bool `hcl:"expand_dotted_keys,optional"`

	// StripANSI removes ANSI CSI escape sequences (colours such as
	// "\x1b[31m") before parsing, as terminal loggers write them. Default true.
	StripANSI bool `hcl:"strip_ansi,optional"`

	// Block is where the parser block is defined, the Subject of diagnostics
	// about absent keys. gohcl fills it only when decoding a block; after the
	// second pass (DecodeBody of the block's remain body) the config loader
	// copies the parser block's DefRange here.
	Block hcl.Range `hcl:",def_range"`
}

// DefaultConfig returns the defaults: expand_dotted_keys = true,
// strip_ansi = true.
func DefaultConfig() Config {
	return Config{ExpandDottedKeys: true, StripANSI: true}
}

// Validate reports problems in c. It does no I/O. Every combination of logfmt
// settings is valid, so it returns no diagnostics; it exists so all parser
// configs are checked the same way.
func (c *Config) Validate() hcl.Diagnostics {
	return nil
}

// Decoder reads one logfmt record per line. It is safe for concurrent use.
type Decoder struct {
	expand    bool
	stripANSI bool
}

var _ parsers.Decoder = (*Decoder)(nil)

// New returns a Decoder for c.
func New(c Config) (*Decoder, error) {
	if diags := c.Validate(); diags.HasErrors() {
		return nil, fmt.Errorf("logfmt parser config: %s", diags.Error())
	}
	return &Decoder{expand: c.ExpandDottedKeys, stripANSI: c.StripANSI}, nil
}

// Decode parses line as logfmt. Values are strings; a bare key is true and
// `key=` is "". A blank line returns an error wrapping [parsers.ErrSkip]; a
// malformed line returns an error such as "invalid logfmt at byte 9:
// unexpected '='" (offset from 0, after ANSI stripping). The Record does not
// alias line.
func (d *Decoder) Decode(line []byte) (parsers.Record, error) {
	line = bytes.TrimRight(line, "\r")
	if d.stripANSI {
		line = stripCSI(line)
	}
	if len(bytes.TrimLeft(line, " \t\v\f\r")) == 0 {
		return nil, fmt.Errorf("blank line: %w", parsers.ErrSkip)
	}
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		return nil, fmt.Errorf("invalid logfmt at byte %d: newline inside a line", i)
	}
	dec := logfmt.NewDecoderSize(bytes.NewReader(line), len(line)+1)
	rec := make(parsers.Record)
	if !dec.ScanRecord() {
		return nil, d.syntaxErr(dec.Err())
	}
	// pos follows the library's cursor so a bare key ("debug") can be told
	// from an empty value ("debug="): the library reports both as nil.
	pos := 0
	for dec.ScanKeyval() {
		key := dec.Key()
		for pos < len(line) && line[pos] <= ' ' {
			pos++
		}
		pos += len(key)
		if pos >= len(line) || line[pos] != '=' {
			rec[string(key)] = true
			continue
		}
		pos = skipValue(line, pos+1)
		rec[string(key)] = string(dec.Value()) // duplicate keys: the last one wins
	}
	if err := dec.Err(); err != nil {
		return nil, d.syntaxErr(err)
	}
	if d.expand {
		dotted.Expand(rec)
	}
	return rec, nil
}

func (d *Decoder) syntaxErr(err error) error {
	if se, ok := errors.AsType[*logfmt.SyntaxError](err); ok {
		return fmt.Errorf("invalid logfmt at byte %d: %s", se.Pos-1, se.Msg)
	}
	if err == nil {
		err = errors.New("no record")
	}
	return fmt.Errorf("invalid logfmt: %w", err)
}

// skipValue returns the offset just past the value starting at i: a quoted
// value up to its closing quote, or bytes up to the next space.
func skipValue(line []byte, i int) int {
	if i < len(line) && line[i] == '"' {
		for i++; i < len(line); i++ {
			switch line[i] {
			case '\\':
				i++
			case '"':
				return i + 1
			}
		}
		return len(line)
	}
	for i < len(line) && line[i] > ' ' {
		i++
	}
	return i
}

// stripCSI returns line without ANSI CSI sequences: ESC '[', parameter bytes
// 0x30-0x3F, intermediate bytes 0x20-0x2F and one final byte 0x40-0x7E. A
// lone ESC or an unterminated sequence is kept. line is not modified; a copy
// is made only when there is something to strip.
func stripCSI(line []byte) []byte {
	i := bytes.IndexByte(line, 0x1b)
	if i < 0 {
		return line
	}
	out := make([]byte, 0, len(line))
	out = append(out, line[:i]...)
	for i < len(line) {
		c := line[i]
		if c == 0x1b && i+1 < len(line) && line[i+1] == '[' {
			j := i + 2
			for j < len(line) && line[j] >= 0x30 && line[j] <= 0x3f {
				j++
			}
			for j < len(line) && line[j] >= 0x20 && line[j] <= 0x2f {
				j++
			}
			if j < len(line) && line[j] >= 0x40 && line[j] <= 0x7e {
				i = j + 1
				continue
			}
		}
		out = append(out, c)
		i++
	}
	return out
}
