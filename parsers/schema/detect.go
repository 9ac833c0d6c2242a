package schema

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// A secretPattern finds one kind of secret inside a string value. Group 1
// of re is the secret itself: only that part is censored, so the context
// ("Authorization: Bearer ", "password=") stays readable.
type secretPattern struct {
	name  string
	maybe func(t trigger) bool // cheap precheck on the triggers of s; re runs only when it holds
	re    *regexp.Regexp
}

// trigger is a set of the substrings the prechecks of [secretPatterns]
// look for, found by [triggers] in one pass over a string.
type trigger uint16

const (
	trBearer     trigger = 1 << iota // "bearer", any ASCII case
	trPEM                            // "PRIVATE KEY-----"
	trAWS                            // "AKIA" or "ASIA"
	trGitHubPAT                      // "github_pat_"
	trGH                             // "gh"
	trUnderscore                     // "_"
	trXox                            // "xox"
	trAssign                         // "=" or ":"
	trWord                           // "pass", "pwd", "secret", "token" or "key", any ASCII case
)

var secretPatterns = []secretPattern{
	{
		name:  "bearer_token",
		maybe: func(t trigger) bool { return t&trBearer != 0 },
		re:    regexp.MustCompile(`(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{8,}=*)`),
	},
	{
		name:  "pem_private_key",
		maybe: func(t trigger) bool { return t&trPEM != 0 },
		re:    regexp.MustCompile(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----\s*([^-]+?)\s*(?:-----END|$)`),
	},
	{
		name:  "aws_access_key_id",
		maybe: func(t trigger) bool { return t&trAWS != 0 },
		re:    regexp.MustCompile(`\b((?:AKIA|ASIA)[0-9A-Z]{16})\b`),
	},
	{
		name:  "github_token",
		maybe: func(t trigger) bool { return t&trGitHubPAT != 0 || t&(trGH|trUnderscore) == trGH|trUnderscore },
		re:    regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b`),
	},
	{
		name:  "slack_token",
		maybe: func(t trigger) bool { return t&trXox != 0 },
		re:    regexp.MustCompile(`\b(xox[abposr]-[A-Za-z0-9-]{10,})`),
	},
	{
		name:  "password_assignment",
		maybe: func(t trigger) bool { return t&(trAssign|trWord) == trAssign|trWord },
		re:    regexp.MustCompile(`(?i)\b(?:password|passwd|pwd|secret|client_secret|token|access_token|refresh_token|api_?key)\s*[=:]\s*"?([^\s"&;,']+)`),
	},
}

// triggerStart marks the bytes a trigger substring can start with; every
// other byte is skipped by one table load.
var triggerStart = func() (t [256]bool) {
	for _, c := range "bBPAgx_=:pPsStTkK" {
		t[c] = true
	}
	return t
}()

// triggers returns the trigger substrings s contains.
func triggers(s string) trigger {
	var t trigger
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !triggerStart[c] {
			continue
		}
		rest := s[i:]
		switch c {
		case '_':
			t |= trUnderscore
		case '=', ':':
			t |= trAssign
		case 'b', 'B':
			if hasPrefixFold(rest, "bearer") {
				t |= trBearer
			}
		case 'A':
			if strings.HasPrefix(rest, "AKIA") || strings.HasPrefix(rest, "ASIA") {
				t |= trAWS
			}
		case 'g':
			if strings.HasPrefix(rest, "gh") {
				t |= trGH
			}
			if strings.HasPrefix(rest, "github_pat_") {
				t |= trGitHubPAT
			}
		case 'x':
			if strings.HasPrefix(rest, "xox") {
				t |= trXox
			}
		case 'P', 'p':
			if c == 'P' && strings.HasPrefix(rest, "PRIVATE KEY-----") {
				t |= trPEM
			}
			if hasPrefixFold(rest, "pass") || hasPrefixFold(rest, "pwd") {
				t |= trWord
			}
		case 's', 'S':
			if hasPrefixFold(rest, "secret") {
				t |= trWord
			}
		case 't', 'T':
			if hasPrefixFold(rest, "token") {
				t |= trWord
			}
		case 'k', 'K':
			if hasPrefixFold(rest, "key") {
				t |= trWord
			}
		}
	}
	return t
}

// hasPrefixFold reports whether s starts with the lowercase ASCII word
// prefix, ignoring ASCII case.
func hasPrefixFold(s, prefix string) bool {
	if len(s) < len(prefix) {
		return false
	}
	for j := 0; j < len(prefix); j++ {
		c := s[j]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != prefix[j] {
			return false
		}
	}
	return true
}

// secretNames are attribute names whose string values are secrets whatever
// they look like (compared case-insensitively).
var secretNames = map[string]bool{
	"password": true, "passwd": true, "secret": true, "client_secret": true,
	"token": true, "access_token": true, "refresh_token": true, "private_key": true,
	"authorization": true, "api_key": true, "apikey": true,
}

// scrub censors the secrets inside s and returns the result and how many
// secrets it found. The patterns run in order, each on the result of the
// previous one.
func scrub(s string) (string, int) {
	if len(s) < 8 {
		return s, 0 // too short for any pattern
	}
	t := triggers(s)
	if t == 0 {
		return s, 0
	}
	hits := 0
	for i := range secretPatterns {
		p := &secretPatterns[i]
		if !p.maybe(t) {
			continue
		}
		loc := p.re.FindAllStringSubmatchIndex(s, -1)
		if loc == nil {
			continue
		}
		var b strings.Builder
		last := 0
		for _, m := range loc {
			if m[2] < 0 || isCensored(s[m[2]:m[3]]) {
				continue
			}
			b.WriteString(s[last:m[2]])
			b.WriteString(Censor(s[m[2]:m[3]]))
			last = m[3]
			hits++
		}
		if last > 0 {
			b.WriteString(s[last:])
			s = b.String()
			t = triggers(s) // censoring may have removed triggers
		}
	}
	return s, hits
}

// looksSecret reports whether s contains something [scrub] would censor.
func looksSecret(s string) bool {
	_, n := scrub(s)
	return n > 0
}

// scrubMap censors secrets inside m in place: string values that contain
// a secret, and string values of attributes named like a secret. It returns
// the number of secrets found.
func scrubMap(m map[string]any) int {
	hits := 0
	for k, e := range m {
		hits += scrubEntry(m, k, e)
	}
	return hits
}

// scrubEntry is [scrubMap] for the attribute k of m, whose value is e.
func scrubEntry(m map[string]any, k string, e any) int {
	switch x := e.(type) {
	case string:
		if x != "" && isSecretName(k) && !isCensored(x) {
			m[k] = Censor(x)
			return 1
		}
		if s, n := scrub(x); n > 0 {
			m[k] = s
			return n
		}
	case map[string]any:
		return scrubMap(x)
	case []any:
		return scrubList(x)
	}
	return 0
}

// scrubList is [scrubMap] for list elements.
func scrubList(l []any) int {
	hits := 0
	for i, e := range l {
		switch x := e.(type) {
		case string:
			if s, n := scrub(x); n > 0 {
				l[i] = s
				hits += n
			}
		case map[string]any:
			hits += scrubMap(x)
		case []any:
			hits += scrubList(x)
		}
	}
	return hits
}

// isSecretName reports whether k, lowercased, is one of [secretNames],
// without allocating for ASCII names.
func isSecretName(k string) bool {
	const maxLen = len("client_secret")
	// Every name has 5 to 13 characters, and lowercasing maps each
	// character to one character, so a shorter key never matches; nor
	// does one whose first byte, lowercased, starts no name.
	if len(k) < len("token") {
		return false
	}
	if c := k[0]; c < utf8.RuneSelf {
		switch c | 0x20 { // ASCII lowercase for letters
		case 'a', 'c', 'p', 'r', 's', 't':
		default:
			return false
		}
	}
	var buf [maxLen]byte
	for i := 0; i < len(k); i++ {
		c := k[i]
		if c >= utf8.RuneSelf {
			return secretNames[strings.ToLower(k)] // Unicode case mapping
		}
		if i < maxLen {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[i] = c
		}
	}
	if len(k) < len("token") || len(k) > maxLen {
		return false
	}
	// The keys of secretNames; TestIsSecretName checks they agree.
	switch string(buf[:len(k)]) {
	case "password", "passwd", "secret", "client_secret", "token", "access_token", "refresh_token",
		"private_key", "authorization", "api_key", "apikey":
		return true
	}
	return false
}
