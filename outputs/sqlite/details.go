package sqlite

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/auditship/auditship/internal/jsonstr"
)

// appendDetails appends the JSON form of d to dst, byte for byte what
// [event.MarshalDetails] produces (encoding/json: sorted map keys, HTML
// characters escaped), without reflection for the JSON-shaped values decoders
// produce. A nil d is {}. The encoder is the file output's (outputs/file,
// encode.go); plugin packages do not import each other.
func appendDetails(dst []byte, d map[string]any) ([]byte, error) {
	if d == nil {
		return append(dst, "{}"...), nil
	}
	dst, err := appendValue(dst, d)
	if err != nil {
		return dst, fmt.Errorf("encode event_details: %w", err)
	}
	return dst, nil
}

// appendValue appends the JSON form of v as encoding/json.Marshal writes it.
func appendValue(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendString(dst, v), nil
	case json.Number:
		s := string(v)
		if s == "" {
			s = "0" // as encoding/json writes the zero Number
		}
		if !isValidNumber(s) {
			return dst, fmt.Errorf("json: invalid number literal %q", s)
		}
		return append(dst, s...), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case int:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case map[string]any:
		if v == nil {
			return append(dst, "null"...), nil
		}
		return appendObject(dst, v)
	case []any:
		if v == nil {
			return append(dst, "null"...), nil
		}
		dst = append(dst, '[')
		for i, x := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendValue(dst, x); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return dst, err
		}
		return append(dst, b...), nil
	}
}

// member is one attribute of an object being encoded.
type member struct {
	k string
	v any
}

// appendObject appends m (not nil) with its keys in sorted order, as
// encoding/json does. The members are collected once, so values are not
// looked up again.
func appendObject(dst []byte, m map[string]any) ([]byte, error) {
	var arr [16]member
	ms := arr[:0]
	for k, v := range m {
		ms = append(ms, member{k, v})
	}
	// Insertion sort: objects are small and keys distinct.
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].k < ms[j-1].k; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
	dst = append(dst, '{')
	for i := range ms {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, ms[i].k)
		dst = append(dst, ':')
		var err error
		if dst, err = appendValue(dst, ms[i].v); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// plain marks the bytes encoding/json copies as they are: printable ASCII
// except '"', '\\' and the HTML characters '<', '>' and '&'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = !strings.ContainsRune(`"\<>&`, rune(c))
	}
	return t
}()

// appendString appends s as a JSON string, exactly as [jsonstr.Append]
// does; strings of plain bytes only are copied without the escaping loop.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if !plain[s[i]] {
			return jsonstr.Append(dst, s)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// isValidNumber reports whether s is a JSON number literal (RFC 8259).
func isValidNumber(s string) bool {
	if s != "" && s[0] == '-' {
		s = s[1:]
	}
	switch {
	case s == "":
		return false
	case s[0] == '0':
		s = s[1:]
	case '1' <= s[0] && s[0] <= '9':
		s = s[1:]
		for s != "" && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	default:
		return false
	}
	if len(s) >= 2 && s[0] == '.' && '0' <= s[1] && s[1] <= '9' {
		s = s[2:]
		for s != "" && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	if len(s) >= 2 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s[0] == '+' || s[0] == '-' {
			s = s[1:]
			if s == "" {
				return false
			}
		}
		for s != "" && '0' <= s[0] && s[0] <= '9' {
			s = s[1:]
		}
	}
	return s == ""
}
