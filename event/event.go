package event

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/auditship/auditship/internal/jsonenc"
)

// TimeLayout renders event_time as in the audit-log reference:
// "2021-08-17T20:51:47.268843", microseconds and no zone suffix. The time is
// always UTC.
const TimeLayout = "2006-01-02T15:04:05.000000"

// Event is one audit record in the shape GET /audit-logs returns.
//
// Its JSON form has exactly six fields: event_id (integer), event_time
// (string in [TimeLayout], UTC), event_name, event_type, event_details (object)
// and user_uid (integer). Source is never serialised.
type Event struct {
	ID      int64          // event_id; stable for a given source line, see [DeriveID]
	Time    time.Time      // event_time; UTC, full precision kept in memory
	Name    string         // event_name, the resource: "user", "dataset", "api_key", ...
	Type    string         // event_type, the action: "create", "delete", "login", ...
	Details map[string]any // event_details; JSON-shaped values, numbers as json.Number
	UserUID int64          // user_uid
	Source  Position       // where the line came from; used for acks, never sent to clients
}

// Position says where in which file a line was read.
type Position struct {
	Input  string // name of the input block that read the line
	Path   string // path of the file when the line was read
	FileID string // registry key of the file's identity (device, inode, fingerprint)
	Origin uint64 // hash of the file's first line, stable across rename and copy; see [DeriveID]
	Offset int64  // byte offset of the line's first byte in the file
	End    int64  // byte offset just past the line's newline: where reading resumes
}

// wire is the JSON shape of an Event.
type wire struct {
	ID      int64           `json:"event_id"`
	Time    string          `json:"event_time"`
	Name    string          `json:"event_name"`
	Type    string          `json:"event_type"`
	Details json.RawMessage `json:"event_details"`
	UserUID int64           `json:"user_uid"`
}

// MarshalJSON renders the six fields of the audit-log reference. A nil
// Details is rendered as {}.
func (e Event) MarshalJSON() ([]byte, error) {
	d, err := MarshalDetails(e.Details)
	if err != nil {
		return nil, err
	}
	return json.Marshal(wire{
		ID:      e.ID,
		Time:    FormatTime(e.Time),
		Name:    e.Name,
		Type:    e.Type,
		Details: d,
		UserUID: e.UserUID,
	})
}

// UnmarshalJSON reads the six-field form written by MarshalJSON. event_time
// without a zone is read as UTC; numbers inside event_details become
// json.Number so that large integers stay exact.
func (e *Event) UnmarshalJSON(b []byte) error {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	t, err := ParseTime(w.Time)
	if err != nil {
		return err
	}
	d, err := UnmarshalDetails(w.Details)
	if err != nil {
		return err
	}
	*e = Event{ID: w.ID, Time: t, Name: w.Name, Type: w.Type, Details: d, UserUID: w.UserUID}
	return nil
}

// MarshalDetails encodes event_details as a JSON object; nil becomes {}. The
// bytes are those of encoding/json.Marshal (see [AppendDetails]).
func MarshalDetails(d map[string]any) ([]byte, error) {
	b, err := AppendDetails(nil, d)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// AppendDetails appends event_details as a JSON object to dst and returns the
// extended slice; nil becomes {}. The bytes are those of
// encoding/json.Marshal (sorted keys, HTML characters escaped), written
// without reflection for JSON-shaped values. On error, which wraps that of
// encoding/json, dst may hold a partial encoding.
func AppendDetails(dst []byte, d map[string]any) ([]byte, error) {
	if d == nil {
		return append(dst, "{}"...), nil
	}
	dst, err := jsonenc.AppendObject(dst, d)
	if err != nil {
		return dst, fmt.Errorf("encode event_details: %w", err)
	}
	return dst, nil
}

// UnmarshalDetails decodes a JSON object into event_details, numbers as
// json.Number. Empty input or null gives an empty map.
func UnmarshalDetails(b []byte) (map[string]any, error) {
	d := map[string]any{}
	if len(b) == 0 || bytes.Equal(b, []byte("null")) {
		return d, nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("decode event_details: %w", err)
	}
	return d, nil
}

// FormatTime renders t in UTC with [TimeLayout].
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// ParseTime reads event_time: [TimeLayout] (or any fraction length) without a
// zone, read as UTC, or RFC 3339 with a zone. The result is in UTC.
func ParseTime(s string) (time.Time, error) {
	if t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse event_time %q: want %s (UTC) or RFC 3339", s, TimeLayout)
	}
	return t.UTC(), nil
}

// DeriveID returns the event_id of a line that carries none of its own: a
// 63-bit xxhash of the file's origin (hash of its first line), the line's byte
// offset and the line's bytes. Reading the same line again, after a restart,
// a rename rotation or from a copytruncate copy, gives the same id; the id is
// never 0 or negative.
func DeriveID(origin uint64, offset int64, line []byte) int64 {
	var buf [16]byte
	binary.LittleEndian.PutUint64(buf[:8], origin)
	binary.LittleEndian.PutUint64(buf[8:], uint64(offset))
	h := xxhash.New()
	_, _ = h.Write(buf[:])
	_, _ = h.Write(line)
	id := int64(h.Sum64() & (1<<63 - 1))
	if id == 0 {
		id = 1
	}
	return id
}

// OriginOf returns the origin hash of a file whose first line is first
// (without its newline; at most the first 1024 bytes are used).
func OriginOf(first []byte) uint64 {
	if len(first) > 1024 {
		first = first[:1024]
	}
	return xxhash.Sum64(first)
}
