package schema

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash"
	"strings"
	"sync"
	"unicode/utf8"
)

// censorKeepMin is the shortest value whose last 4 characters [Censor]
// keeps. The platform's censored_key is far longer; the last 4 characters of
// a short secret (a password like "hunter2") give away too much of it.
const censorKeepMin = 12

// Censor returns s with every character but the last 4 replaced by an
// asterisk, as the platform renders censored_key
// ("************************************************************E4YO").
// Values of fewer than 12 characters become all asterisks. The length in
// characters is kept, so censoring is idempotent.
func Censor(s string) string {
	// Fast path for a value already censored: asterisks, then at most 4
	// bytes (so at most 4 characters), at least 12 characters in all.
	k := 0
	for k < len(s) && s[k] == '*' {
		k++
	}
	if rest := s[k:]; len(rest) <= 4 && k+utf8.RuneCountInString(rest) >= censorKeepMin {
		return s
	}
	n := utf8.RuneCountInString(s)
	if n < censorKeepMin {
		return strings.Repeat("*", n)
	}
	// Index of the 4th rune from the end.
	i := len(s)
	for range 4 {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	if strings.TrimLeft(s[:i], "*") == "" {
		return s // already censored
	}
	var b strings.Builder
	b.Grow(n - 4 + len(s) - i)
	for range n - 4 {
		b.WriteByte('*')
	}
	b.WriteString(s[i:])
	return b.String()
}

// isCensored reports whether s already has the shape [Censor] produces: all
// asterisks, or at least 12 characters of asterisks followed by at most 4
// other characters. A short value that merely starts with "*" is not
// censored.
func isCensored(s string) bool {
	t := strings.TrimLeft(s, "*")
	if len(t) == len(s) {
		return false
	}
	return t == "" || utf8.RuneCountInString(s) >= censorKeepMin && utf8.RuneCountInString(t) <= 4
}

// hmacer computes keyed hashes; safe for concurrent use.
type hmacer struct {
	pool sync.Pool // of hash.Hash, keyed
}

func newHMACer(key []byte) *hmacer {
	key = append([]byte(nil), key...)
	return &hmacer{pool: sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}}
}

// sum returns the lowercase hex HMAC-SHA256 of s.
func (h *hmacer) sum(s string) string {
	m := h.pool.Get().(hash.Hash)
	m.Reset()
	_, _ = m.Write([]byte(s))
	var buf [sha256.Size]byte
	out := hex.EncodeToString(m.Sum(buf[:0]))
	h.pool.Put(m)
	return out
}

// redactPath redacts the values at path (attribute names; list elements
// are passed through) inside v in place. When v is itself the target it
// returns the redacted value and true; otherwise v and false, and entries
// that did not change are not stored again. Values that do not have the
// path's shape are left alone: validation reports them.
func redactPath(v any, path []string, red func(string) string) (any, bool) {
	switch x := v.(type) {
	case map[string]any:
		if len(path) == 0 {
			for k, e := range x {
				if r, changed := redactPath(e, nil, red); changed {
					x[k] = r
				}
			}
			return v, false
		}
		if e, ok := x[path[0]]; ok {
			if r, changed := redactPath(e, path[1:], red); changed {
				x[path[0]] = r
			}
		}
		return v, false
	case []any:
		for i, e := range x {
			if r, changed := redactPath(e, path, red); changed {
				x[i] = r
			}
		}
		return v, false
	}
	if len(path) > 0 {
		return v, false
	}
	switch x := v.(type) {
	case string:
		if r := red(x); r != x {
			return r, true
		}
		return v, false // unchanged: boxing the string again would allocate
	}
	// A number is redacted as the text of its JSON value, so it becomes a
	// string: no number can show that it was censored (0 would read as a
	// real value) or hold an HMAC. true, false and null are kept.
	if t, ok := numberText(v); ok {
		return red(t), true
	}
	return v, false
}

// numberText returns the JSON text of the number v (a json.Number or a Go
// numeric value); ok is false when v is not a number.
func numberText(v any) (text string, ok bool) {
	if x, isJSON := v.(json.Number); isJSON {
		return x.String(), true
	}
	if !isNumber(v) {
		return "", false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", false // NaN or an infinity: not JSON, validation reports it
	}
	return string(b), true
}
