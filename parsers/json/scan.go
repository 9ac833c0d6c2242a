package json

import (
	"encoding/binary"
	encjson "encoding/json"
	"fmt"
	"math/bits"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth bounds nesting, as encoding/json does, so a hostile line cannot
// exhaust the stack.
const maxDepth = 10000

// syntaxError is a malformed line; off is the byte offset (from 0) of the
// offending byte in the line.
type syntaxError struct {
	off int
	msg string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.msg)
}

// scanner is a single-use recursive-descent JSON parser over one line. Keys,
// strings without escapes and numbers are substrings of text, one string copy
// of the whole line made once per line: the Record never aliases the line,
// and a line costs one allocation for all its plain strings instead of one
// per string (a stored value keeps the copy alive, at most one line's bytes).
type scanner struct {
	b      []byte
	text   string // string(b), made once; plain strings are substrings of it
	i      int
	depth  int
	buf    []byte   // scratch for strings with escapes
	keep   []string // nil: build every key; else the top-level keys to build (see Decoder.Project)
	dotted bool     // a top-level key that was built holds a dot
	slab   []string // headers of the boxed strings and numbers; see box.go
	vals   []any    // DecodePaths: the values of the paths' leaves
	expand bool     // DecodePaths: dotted top-level keys are expanded
}

// kept reports whether the top-level key k is built under s.keep. keep is
// short (the keys a mapping reads): comparing strings beats hashing.
func (s *scanner) kept(k string) bool {
	for i := 0; i < len(k); i++ {
		if k[i] == '.' {
			k = k[:i]
			break
		}
	}
	for _, want := range s.keep {
		if k == want {
			return true
		}
	}
	return false
}

func (s *scanner) errf(format string, args ...any) error {
	return &syntaxError{off: s.i, msg: fmt.Sprintf(format, args...)}
}

// ws moves the cursor over JSON white space. Every white space byte is at
// most ' ': the one comparison ends the common case, compact JSON.
func (s *scanner) ws() {
	for s.i < len(s.b) && s.b[s.i] <= ' ' {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// describe names the byte at the cursor for an error message.
func (s *scanner) describe() string {
	if s.i >= len(s.b) {
		return "unexpected end of line"
	}
	return fmt.Sprintf("unexpected %q", s.b[s.i])
}

func (s *scanner) value() (any, error) {
	if s.i >= len(s.b) {
		return nil, s.errf("unexpected end of line, want a value")
	}
	switch c := s.b[s.i]; c {
	case '{':
		return s.object()
	case '[':
		return s.array()
	case '"':
		v, err := s.str()
		if err != nil {
			return nil, err
		}
		return s.boxString(v), nil
	case 't':
		return s.literal("true", true)
	case 'f':
		return s.literal("false", false)
	case 'n':
		return s.literal("null", nil)
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			n, err := s.number()
			if err != nil {
				return nil, err
			}
			return s.boxNumber(n), nil
		}
		return nil, s.errf("%s, want a value", s.describe())
	}
}

func (s *scanner) literal(word string, v any) (any, error) {
	if len(s.b)-s.i >= len(word) && string(s.b[s.i:s.i+len(word)]) == word {
		s.i += len(word)
		return v, nil
	}
	return nil, s.errf("invalid literal, want %s", word)
}

func (s *scanner) object() (map[string]any, error) {
	s.depth++
	if s.depth > maxDepth {
		return nil, s.errf("nesting deeper than %d", maxDepth)
	}
	s.i++ // '{'
	m := newMap()
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		s.depth--
		return m, nil
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return nil, s.errf("%s, want an object key", s.describe())
		}
		k, err := s.str()
		if err != nil {
			return nil, err
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return nil, s.errf("%s after object key, want ':'", s.describe())
		}
		s.i++
		s.ws()
		if s.depth == 1 && s.keep != nil && !s.kept(k) {
			if err := s.skip(); err != nil {
				return nil, err
			}
		} else {
			if s.depth == 1 && !s.dotted && strings.IndexByte(k, '.') >= 0 {
				s.dotted = true
			}
			v, err := s.value()
			if err != nil {
				return nil, err
			}
			m[k] = v // duplicate keys: the last one wins
		}
		s.ws()
		if s.i >= len(s.b) {
			return nil, s.errf("unexpected end of line in object")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case '}':
			s.i++
			s.depth--
			return m, nil
		default:
			return nil, s.errf("%s after object value, want ',' or '}'", s.describe())
		}
	}
}

func (s *scanner) array() ([]any, error) {
	s.depth++
	if s.depth > maxDepth {
		return nil, s.errf("nesting deeper than %d", maxDepth)
	}
	s.i++ // '['
	a := []any{}
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		s.depth--
		return a, nil
	}
	for {
		v, err := s.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		s.ws()
		if s.i >= len(s.b) {
			return nil, s.errf("unexpected end of line in array")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case ']':
			s.i++
			s.depth--
			return a, nil
		default:
			return nil, s.errf("%s after array element, want ',' or ']'", s.describe())
		}
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// SWAR constants: one in every byte, and every byte's high bit.
const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

// plain moves the cursor over printable ASCII other than '"' and '\\',
// eight bytes at a time, and stops at the first other byte or where fewer
// than eight bytes are left; the caller handles the rest byte by byte.
func (s *scanner) plain() {
	for s.i+8 <= len(s.b) {
		w := binary.LittleEndian.Uint64(s.b[s.i:])
		// A byte's high bit is set in m where the byte is < 0x20, '"',
		// '\\' or >= 0x80. Borrows can only mark bytes above the first
		// marked one, so the lowest mark is exact (the haszero trick of
		// "Bit Twiddling Hacks", S. E. Anderson).
		q := w ^ (ones * '"')
		b := w ^ (ones * '\\')
		m := ((w-ones*0x20)|(q-ones)|(b-ones))&^w&highs | w&highs
		if m != 0 {
			s.i += bits.TrailingZeros64(m) >> 3
			return
		}
		s.i += 8
	}
}

// number checks the JSON number grammar and keeps the text as written.
func (s *scanner) number() (encjson.Number, error) {
	start := s.i
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		for s.i < len(s.b) && isDigit(s.b[s.i]) {
			s.i++
		}
	default:
		return "", s.errf("%s in number, want a digit", s.describe())
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if s.i >= len(s.b) || !isDigit(s.b[s.i]) {
			return "", s.errf("%s after decimal point, want a digit", s.describe())
		}
		for s.i < len(s.b) && isDigit(s.b[s.i]) {
			s.i++
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if s.i >= len(s.b) || !isDigit(s.b[s.i]) {
			return "", s.errf("%s in exponent, want a digit", s.describe())
		}
		for s.i < len(s.b) && isDigit(s.b[s.i]) {
			s.i++
		}
	}
	return encjson.Number(s.text[start:s.i]), nil
}

// str reads a string starting at the opening quote. Invalid UTF-8 and raw
// control characters are errors: JSON text cannot carry them.
func (s *scanner) str() (string, error) {
	s.i++ // opening quote
	start := s.i
	// Fast path: printable ASCII without escapes, 8 bytes at a time.
	s.plain()
	for s.i < len(s.b) {
		c := s.b[s.i]
		if c == '"' {
			v := s.text[start:s.i]
			s.i++
			return v, nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			break
		}
		s.i++
	}
	s.buf = append(s.buf[:0], s.b[start:s.i]...)
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return string(s.buf), nil
		case c < 0x20:
			return "", s.errf("control character %q in string, want it escaped", c)
		case c == '\\':
			if err := s.escape(); err != nil {
				return "", err
			}
		case c < utf8.RuneSelf:
			s.buf = append(s.buf, c)
			s.i++
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n == 1 {
				return "", s.errf("invalid UTF-8 in string")
			}
			s.buf = append(s.buf, s.b[s.i:s.i+n]...)
			s.i += n
		}
	}
	return "", s.errf("unexpected end of line in string")
}

func (s *scanner) escape() error {
	s.i++ // backslash
	if s.i >= len(s.b) {
		return s.errf("unexpected end of line in string escape")
	}
	c := s.b[s.i]
	switch c {
	case '"', '\\', '/':
		s.buf = append(s.buf, c)
	case 'b':
		s.buf = append(s.buf, '\b')
	case 'f':
		s.buf = append(s.buf, '\f')
	case 'n':
		s.buf = append(s.buf, '\n')
	case 'r':
		s.buf = append(s.buf, '\r')
	case 't':
		s.buf = append(s.buf, '\t')
	case 'u':
		s.i++
		r, ok := s.hex4()
		if !ok {
			return s.errf("invalid \\u escape, want 4 hex digits")
		}
		if utf16.IsSurrogate(r) {
			// A high surrogate followed by an escaped low one is one rune; a
			// lone surrogate becomes U+FFFD, as in encoding/json.
			if len(s.b)-s.i >= 6 && s.b[s.i] == '\\' && s.b[s.i+1] == 'u' {
				save := s.i
				s.i += 2
				if r2, ok := s.hex4(); ok {
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						s.buf = utf8.AppendRune(s.buf, dec)
						return nil
					}
				}
				s.i = save
			}
			r = utf8.RuneError
		}
		s.buf = utf8.AppendRune(s.buf, r)
		return nil
	default:
		return s.errf("invalid escape %q in string", "\\"+string(rune(c)))
	}
	s.i++
	return nil
}

// hex4 reads 4 hex digits at the cursor and advances past them on success.
func (s *scanner) hex4() (rune, bool) {
	if len(s.b)-s.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	s.i += 4
	return r, true
}

// skip checks the value at the cursor exactly as value does, with the same
// errors at the same offsets, and moves past it without building it.
func (s *scanner) skip() error {
	if s.i >= len(s.b) {
		return s.errf("unexpected end of line, want a value")
	}
	switch c := s.b[s.i]; c {
	case '{':
		return s.skipContainer('}')
	case '[':
		return s.skipContainer(']')
	case '"':
		return s.skipStr()
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		_, err := s.number() // not boxed in an interface: no allocation
		return err
	default:
		_, err := s.value() // a literal (no allocation) or an error
		return err
	}
}

// skipContainer checks an object (end '}') or array (end ']') at the cursor.
func (s *scanner) skipContainer(end byte) error {
	s.depth++
	if s.depth > maxDepth {
		return s.errf("nesting deeper than %d", maxDepth)
	}
	s.i++ // '{' or '['
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == end {
		s.i++
		s.depth--
		return nil
	}
	for {
		if end == '}' {
			if s.i >= len(s.b) || s.b[s.i] != '"' {
				return s.errf("%s, want an object key", s.describe())
			}
			if err := s.skipStr(); err != nil {
				return err
			}
			s.ws()
			if s.i >= len(s.b) || s.b[s.i] != ':' {
				return s.errf("%s after object key, want ':'", s.describe())
			}
			s.i++
			s.ws()
		}
		if err := s.skip(); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			if end == '}' {
				return s.errf("unexpected end of line in object")
			}
			return s.errf("unexpected end of line in array")
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.ws()
		case end:
			s.i++
			s.depth--
			return nil
		default:
			if end == '}' {
				return s.errf("%s after object value, want ',' or '}'", s.describe())
			}
			return s.errf("%s after array element, want ',' or ']'", s.describe())
		}
	}
}

// skipStr checks a string at the cursor as str does, without building it.
func (s *scanner) skipStr() error {
	s.i++ // opening quote
	for s.plain(); s.i < len(s.b); s.plain() {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			return nil
		case c < 0x20:
			return s.errf("control character %q in string, want it escaped", c)
		case c == '\\':
			// escape validates and appends the decoded bytes to buf:
			// keep buf from growing across a long skipped string.
			if err := s.escape(); err != nil {
				return err
			}
			s.buf = s.buf[:0]
		case c < utf8.RuneSelf:
			s.i++
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n == 1 {
				return s.errf("invalid UTF-8 in string")
			}
			s.i += n
		}
	}
	return s.errf("unexpected end of line in string")
}
