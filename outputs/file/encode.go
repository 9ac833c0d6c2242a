package file

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/internal/jsonstr"
)

// appendEvent appends the JSON form of e to dst, byte for byte what
// [event.Event.MarshalJSON] produces (encoding/json: sorted map keys, HTML
// characters escaped), without reflection for the JSON-shaped values decoders
// produce. Values of other types are encoded with encoding/json. On error dst
// may hold a partial event. It allocates nothing for JSON-shaped details of
// up to 16 attributes per object.
func appendEvent(dst []byte, e *event.Event) ([]byte, error) {
	dst = append(dst, `{"event_id":`...)
	dst = strconv.AppendInt(dst, e.ID, 10)
	dst = append(dst, `,"event_time":"`...)
	dst = appendTime(dst, e.Time)
	dst = append(dst, `","event_name":`...)
	dst = appendString(dst, e.Name)
	dst = append(dst, `,"event_type":`...)
	dst = appendString(dst, e.Type)
	dst = append(dst, `,"event_details":`...)
	if e.Details == nil {
		dst = append(dst, "{}"...)
	} else {
		var err error
		if dst, err = appendObject(dst, e.Details); err != nil {
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
// looked up again, into an array on the stack: stores there need no GC
// write barrier.
func appendObject(dst []byte, m map[string]any) ([]byte, error) {
	var arr [16]member
	if len(m) > len(arr) {
		return appendMembers(dst, m)
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
	dst = append(dst, '{')
	for i := range n {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendString(dst, arr[i].k)
		dst = append(dst, ':')
		var err error
		if dst, err = appendValue(dst, arr[i].v); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendMembers is [appendObject] for objects of more than 16 attributes.
func appendMembers(dst []byte, m map[string]any) ([]byte, error) {
	ms := make([]member, 0, len(m))
	for k, v := range m {
		ms = append(ms, member{k, v})
	}
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.k, b.k) })
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

// appendString appends s as a JSON string, exactly as [jsonstr.Append]
// does; strings of plain bytes only are copied without the escaping loop.
func appendString(dst []byte, s string) []byte {
	if !isPlain(s) {
		return jsonstr.Append(dst, s)
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

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

// digits2 holds "00" to "99".
const digits2 = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

func append2(dst []byte, n int64) []byte {
	return append(dst, digits2[2*n], digits2[2*n+1])
}

// appendTime appends t in UTC as [event.TimeLayout] formats it
// ("2006-01-02T15:04:05.000000", fraction truncated), computing the civil
// date directly; years outside 0 to 9999 go through time.Time.AppendFormat.
func appendTime(dst []byte, t time.Time) []byte {
	sec := t.Unix()
	days, rem := sec/86400, sec%86400
	if rem < 0 {
		days, rem = days-1, rem+86400
	}
	// Civil date from days since 1970-01-01 (H. Hinnant, "chrono-compatible
	// low-level date algorithms"), in the proleptic Gregorian calendar.
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
		y++
	}
	if y < 0 || y > 9999 {
		return t.UTC().AppendFormat(dst, event.TimeLayout)
	}
	dst = append2(dst, y/100)
	dst = append2(dst, y%100)
	dst = append(dst, '-')
	dst = append2(dst, m)
	dst = append(dst, '-')
	dst = append2(dst, d)
	dst = append(dst, 'T')
	dst = append2(dst, rem/3600)
	dst = append(dst, ':')
	dst = append2(dst, rem/60%60)
	dst = append(dst, ':')
	dst = append2(dst, rem%60)
	dst = append(dst, '.')
	us := int64(t.Nanosecond() / 1000)
	dst = append2(dst, us/10000)
	dst = append2(dst, us/100%100)
	return append2(dst, us%100)
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
