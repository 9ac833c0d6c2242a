package schema

import (
	"regexp"
	"strings"
)

// A secretPattern finds one kind of secret inside a string value. Group 1
// of re is the secret itself: only that part is censored, so the context
// ("Authorization: Bearer ", "password=") stays readable.
type secretPattern struct {
	name  string
	maybe func(s string) bool // cheap precheck; re runs only when it holds
	re    *regexp.Regexp
}

var secretPatterns = []secretPattern{
	{
		name:  "bearer_token",
		maybe: func(s string) bool { return containsFold(s, "bearer") },
		re:    regexp.MustCompile(`(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{8,}=*)`),
	},
	{
		name:  "pem_private_key",
		maybe: func(s string) bool { return strings.Contains(s, "PRIVATE KEY-----") },
		re:    regexp.MustCompile(`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----\s*([^-]+?)\s*(?:-----END|$)`),
	},
	{
		name:  "aws_access_key_id",
		maybe: func(s string) bool { return strings.Contains(s, "AKIA") || strings.Contains(s, "ASIA") },
		re:    regexp.MustCompile(`\b((?:AKIA|ASIA)[0-9A-Z]{16})\b`),
	},
	{
		name: "github_token",
		maybe: func(s string) bool {
			return strings.Contains(s, "github_pat_") || strings.Contains(s, "gh") && strings.Contains(s, "_")
		},
		re: regexp.MustCompile(`\b(gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b`),
	},
	{
		name:  "slack_token",
		maybe: func(s string) bool { return strings.Contains(s, "xox") },
		re:    regexp.MustCompile(`\b(xox[abposr]-[A-Za-z0-9-]{10,})`),
	},
	{
		name: "password_assignment",
		maybe: func(s string) bool {
			return strings.ContainsAny(s, "=:") &&
				(containsFold(s, "pass") || containsFold(s, "pwd") || containsFold(s, "secret") ||
					containsFold(s, "token") || containsFold(s, "key"))
		},
		re: regexp.MustCompile(`(?i)\b(?:password|passwd|pwd|secret|client_secret|token|access_token|refresh_token|api_?key)\s*[=:]\s*"?([^\s"&;,']+)`),
	},
}

// secretNames are attribute names whose string values are secrets whatever
// they look like (compared case-insensitively).
var secretNames = map[string]bool{
	"password": true, "passwd": true, "secret": true, "client_secret": true,
	"token": true, "access_token": true, "refresh_token": true, "private_key": true,
	"authorization": true, "api_key": true, "apikey": true,
}

// scrub censors the secrets inside s and returns the result and how many
// secrets it found.
func scrub(s string) (string, int) {
	if len(s) < 8 {
		return s, 0 // too short for any pattern
	}
	hits := 0
	for i := range secretPatterns {
		p := &secretPatterns[i]
		if !p.maybe(s) {
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
		switch x := e.(type) {
		case string:
			if secretNames[strings.ToLower(k)] && x != "" && !isCensored(x) {
				m[k] = Censor(x)
				hits++
				continue
			}
			if s, n := scrub(x); n > 0 {
				m[k] = s
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

// containsFold reports whether s contains the lowercase ASCII word sub,
// ignoring ASCII case, without allocating.
func containsFold(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != sub[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}
