package parsers

import "errors"

// ErrSkip is wrapped by errors for lines that are not audit events (blank
// lines, headers, ordinary application lines): they are acknowledged and
// dropped, never dead-lettered.
var ErrSkip = errors.New("not an audit event")

// Record is one decoded log line: a JSON-shaped tree. Values are string,
// json.Number (numbers, kept exactly as written), bool, nil, []any and
// map[string]any.
type Record = map[string]any

// Decoder reads one line into a Record. line has no trailing newline and is
// only valid during the call; the Record must not alias it. Decode does no I/O
// and is safe for concurrent use. It returns an error wrapping ErrSkip for
// lines that carry no record (blank lines), and any other error for a line
// that is malformed: such a line is dead-lettered with the error's text.
type Decoder interface {
	Decode(line []byte) (Record, error)
}
