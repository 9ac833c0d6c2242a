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

// Projector is implemented by decoders that can build only part of a record.
// Project returns a Decoder whose records hold only the top-level keys a
// consumer reads: with every key of keys cut at its first '.', a top-level
// key of a line is kept when its own part before the first '.' (all of it,
// when it has no '.') is one of them, so dotted keys expand exactly as they
// would in the full record. Every line is still checked whole: a line the full decoder
// rejects, the projected one rejects with the same error. The mapping tells
// which keys it reads ([mapping.Mapping.RecordKeys]); the agent projects a
// decoder only when the mapping does not read the whole record.
type Projector interface {
	Project(keys []string) Decoder
}

// OwnedDecoder is implemented by decoders that can save a copy when the
// caller hands over the line for good. DecodeOwned is Decode, except that
// the Record may alias line: the caller must never modify line afterwards
// (the garbage collector keeps it alive while the Record is referenced).
// The agent's tailer gives each line's bytes to the pipeline this way.
type OwnedDecoder interface {
	DecodeOwned(line []byte) (Record, error)
}

// Releaser is implemented by decoders that reuse the memory of records the
// caller is done with. Release hands rec (returned by this decoder) back;
// the maps reachable from keep (the event's details, which may share maps
// with rec) stay the caller's, everything else of rec must not be used
// again. The agent calls it after each line's event is built.
type Releaser interface {
	Release(rec Record, keep map[string]any)
}

// PathDecoder is implemented by decoders that can decode only the values at
// a fixed set of paths, without building the objects on the way to them.
// Each path is a list of object keys from the top level (record.audit.resource
// is {"audit", "resource"}). DecodePaths returns the decoder of paths, or ok
// false when it cannot serve them (then the caller decodes whole records).
// The mapping tells which paths it reads ([mapping.Mapping.Paths]); the agent
// uses a PathDecoder when the mapping reads nothing but such paths.
type PathDecoder interface {
	DecodePaths(paths [][]string) (dec PathsFunc, ok bool)
}

// PathsFunc decodes one line for a [PathDecoder]. It sets vals[i] (len(vals)
// is the number of paths) to the value at path i exactly as walking the
// Record of Decode would find it: nil when a key is missing at any depth or
// a step meets a non-object. It checks the whole line as Decode does and
// returns the same errors. ok false, with a nil error, means that this line
// needs its whole Record (for example a dotted top-level key that would
// expand onto a path); vals then holds nothing usable. The values may alias
// line, which the caller must never modify again (as with [OwnedDecoder]).
// It is safe for concurrent use with distinct vals.
type PathsFunc func(line []byte, vals []any) (ok bool, err error)
