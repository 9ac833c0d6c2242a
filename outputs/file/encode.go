package file

import (
	"encoding/json"
	"fmt"
	"github.com/auditship/auditship/internal/jsonstr"
	"slices"
	"strconv"

	"github.com/auditship/auditship/event"
)

// appendEvent appends the JSON form of e to dst, byte for byte what
// [event.Event.MarshalJSON] produces (encoding/json: sorted map keys, HTML
// characters escaped), without reflection for the JSON-shaped values decoders
// produce. Values of other types are encoded with encoding/json. On error dst
// may hold a partial event.
func appendEvent(dst []byte, e *event.Event) ([]byte, error) {
	dst = append(dst, `{"event_id":`...)
	dst = strconv.AppendInt(dst, e.ID, 10)
	dst = append(dst, `,"event_time":"`...)
	dst = e.Time.UTC().AppendFormat(dst, event.TimeLayout)
	dst = append(dst, `","event_name":`...)
	dst = jsonstr.Append(dst, e.Name)
	dst = append(dst, `,"event_type":`...)
	dst = jsonstr.Append(dst, e.Type)
	dst = append(dst, `,"event_details":`...)
	if e.Details == nil {
		dst = append(dst, "{}"...)
	} else {
		var err error
		if dst, err = appendValue(dst, e.Details); err != nil {
			return dst, fmt.Errorf("encode event_details: %w", err)
		}
	}
	dst = append(dst, `,"user_uid":`...)
	dst = strconv.AppendInt(dst, e.UserUID, 10)
	return append(dst, '}'), nil
}

// appendValue appends the JSON form of v as encoding/json.Marshal writes it.
func appendValue(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return jsonstr.Append(dst, v), nil
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
		var arr [16]string
		keys := arr[:0]
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		dst = append(dst, '{')
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = jsonstr.Append(dst, k)
			dst = append(dst, ':')
			var err error
			if dst, err = appendValue(dst, v[k]); err != nil {
				return dst, err
			}
		}
		return append(dst, '}'), nil
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
