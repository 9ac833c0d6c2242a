// Package jsonenc encodes the JSON-shaped values decoders produce
// (event_details) without reflection, byte for byte as encoding/json.Marshal
// does: object keys sorted, HTML characters escaped, invalid UTF-8 replaced
// by U+FFFD.
//
// The values encoded directly are string, json.Number, bool, nil, int,
// int64, []any and map[string]any; a value of any other type (float64,
// structs, ...) is encoded with encoding/json. For all of them the output
// and the errors are those of encoding/json.Marshal: an invalid json.Number
// fails with encoding/json's error ("json: invalid number literal ...").
package jsonenc

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/auditship/auditship/internal/jsonstr"
)

// maxDepth is how deep arrays and objects nest before the rest is left to
// encoding/json, which detects cycles (a map that contains itself would
// otherwise overflow the stack instead of failing as encoding/json does).
const maxDepth = 1000

// AppendValue appends the JSON form of v to dst, byte for byte what
// encoding/json.Marshal(v) writes, and returns the extended slice. On error
// (the error of encoding/json.Marshal) dst may hold a partial encoding.
func AppendValue(dst []byte, v any) ([]byte, error) {
	return appendValue(dst, v, 0)
}

// AppendObject appends the JSON form of m to dst, byte for byte what
// encoding/json.Marshal(m) writes (a nil m is null), and returns the
// extended slice. On error dst may hold a partial encoding. It allocates
// nothing beyond dst for JSON-shaped objects of up to 16 attributes.
func AppendObject(dst []byte, m map[string]any) ([]byte, error) {
	if m == nil {
		return append(dst, "null"...), nil
	}
	return appendObject(dst, m, 0)
}

// AppendString appends s as a JSON string, byte for byte what
// encoding/json.Marshal(s) writes (as [jsonstr.Append]); strings of plain
// bytes only are copied without the escaping loop.
func AppendString(dst []byte, s string) []byte {
	if !isPlain(s) {
		return jsonstr.Append(dst, s)
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return AppendString(dst, v), nil
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
		if depth >= maxDepth {
			return appendMarshal(dst, v)
		}
		return appendObject(dst, v, depth+1)
	case []any:
		if v == nil {
			return append(dst, "null"...), nil
		}
		if depth >= maxDepth {
			return appendMarshal(dst, v)
		}
		dst = append(dst, '[')
		for i, x := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			var err error
			if dst, err = appendValue(dst, x, depth+1); err != nil {
				return dst, err
			}
		}
		return append(dst, ']'), nil
	default:
		return appendMarshal(dst, v)
	}
}

// appendMarshal appends what encoding/json.Marshal writes for v.
func appendMarshal(dst []byte, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// member is one attribute of an object being encoded.
type member struct {
	k string
	v any
}

// appendObject appends m (not nil) with its keys in sorted order, as
// encoding/json does. The members are collected once, so values are not
// looked up again, into an array on the stack: stores there need no GC
// write barrier.
func appendObject(dst []byte, m map[string]any, depth int) ([]byte, error) {
	var arr [16]member
	if len(m) > len(arr) {
		return appendMembers(dst, m, depth)
	}
	n := 0
	for k, v := range m {
		arr[n] = member{k, v}
		n++
	}
	// Insertion sort: objects are small and keys distinct.
	for i := 1; i < n; i++ {
		for j := i; j > 0 && less(arr[j].k, arr[j-1].k); j-- {
			arr[j], arr[j-1] = arr[j-1], arr[j]
		}
	}
	return appendSorted(dst, arr[:n], depth)
}

// appendMembers is [appendObject] for objects of more than 16 attributes.
func appendMembers(dst []byte, m map[string]any, depth int) ([]byte, error) {
	ms := make([]member, 0, len(m))
	for k, v := range m {
		ms = append(ms, member{k, v})
	}
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.k, b.k) })
	return appendSorted(dst, ms, depth)
}

// appendSorted appends the members ms, sorted by key, as an object.
func appendSorted(dst []byte, ms []member, depth int) ([]byte, error) {
	dst = append(dst, '{')
	for i := range ms {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, ms[i].k)
		dst = append(dst, ':')
		var err error
		if dst, err = appendValue(dst, ms[i].v, depth); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// less is a < b, deciding on the first byte inline when it differs.
func less(a, b string) bool {
	if a != "" && b != "" && a[0] != b[0] {
		return a[0] < b[0]
	}
	return a < b
}

// plain marks the bytes encoding/json copies as they are: printable ASCII
// except '"', '\\' and the HTML characters '<', '>' and '&'.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = !strings.ContainsRune(`"\<>&`, rune(c))
	}
	return t
}()

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// isPlain reports whether every byte of s is plain, 8 bytes at a time (the
// last word overlapping the one before it).
func isPlain(s string) bool {
	n := len(s)
	if n < 8 {
		for i := 0; i < n; i++ {
			if !plain[s[i]] {
				return false
			}
		}
		return true
	}
	for i := 0; i+8 < n; i += 8 {
		if !plainWord(s[i : i+8]) {
			return false
		}
	}
	return plainWord(s[n-8:])
}

// plainWord reports whether the 8 bytes of w are plain.
func plainWord(w string) bool {
	_ = w[7]
	x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
		uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
	// A byte with the high bit set, below 0x20, or equal to '"', '\\', '&',
	// or '<' or '>' (which differ only in bit 1) is not plain.
	bad := x | hasZero(x^(ones*'"')) | hasZero(x^(ones*'\\')) | hasZero(x^(ones*'&')) |
		hasZero((x|ones*0x02)^(ones*'>')) | (x-ones*0x20)&^x
	return bad&highs == 0
}

// hasZero has the high bit of some byte set if some byte of x is 0 (and
// only then, for the word as a whole).
func hasZero(x uint64) uint64 { return (x - ones) &^ x & highs }

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
