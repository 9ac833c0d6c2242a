package schema

import (
	"bytes"
	"regexp"
	"strings"
	"unicode/utf8"
)

// A secretPattern finds one kind of secret inside a string value. The
// first group of re that matched (a pattern may have one per alternative)
// is the secret itself: only that part is censored, so the context
// ("Authorization: Bearer ", "password=") stays readable. A match without
// a group is skipped: it lets a pattern consume text it must not censor.
type secretPattern struct {
	name  string
	maybe func(t trigger) bool // cheap precheck on the triggers of s; re runs only when it holds
	re    *regexp.Regexp
	valid func(secret string) bool // if set, a match is censored only when it holds
}

// trigger is a set of the substrings the prechecks of [secretPatterns]
// look for, found by [triggers] in one pass over a string. Each is a
// necessary condition for its pattern to censor something, never a
// sufficient one; TestScrub_MatchesReference and FuzzScrub check them
// against plain substring tests.
type trigger uint16

const (
	trBearer      trigger = 1 << iota // "bearer", any ASCII case
	trBasic                           // "basic", whitespace, then base64 that [isBasicCredentials] accepts
	trPEM                             // "PRIVATE KEY-----"
	trAWS                             // "AKIA" or "ASIA"
	trGitHubPAT                       // "github_pat_"
	trGH                              // "gh"
	trUnderscore                      // "_"
	trXox                             // "xox"
	trURLPassword                     // "://user:password@", as url_password matches it
	trAssignment                      // a secret word, then "=" or ":" and a value, as password_assignment matches it, or a flag, as password_flag does
)

// secretWords is the alternation of the names password_assignment censors
// the value of: a name ENDING in one of these (db_password, X-Api-Key,
// aws_secret_access_key, client_secret, x-auth-token), in any ASCII case. A
// name that merely contains one (max_tokens, api_key_uid, token_type,
// secret_name) is not a secret, nor is key alone ("key: value").
var secretWords = asciiFold(`password|passwd|passphrase|pwd|secret|token|credentials?|(?:api|access|secret|private)[_-]?key`)

// asciiFold returns the regular expression re, made of letters and
// operators without classes or escapes, with each letter replaced by a
// class of its two ASCII cases. (?i) would also let k match the Kelvin sign
// and s the long s (ſ), which the prechecks do not look for.
func asciiFold(re string) string {
	var b strings.Builder
	for _, c := range re {
		if 'a' <= c && c <= 'z' {
			b.WriteString("[" + string(c) + string(c-'a'+'A') + "]")
		} else {
			b.WriteRune(c)
		}
	}
	return b.String()
}

// secretValue is the value of an assignment or a flag, each alternative
// with its own group: a value in double quotes runs to the closing quote
// (past spaces and backslash escapes) or the end of the string; in single
// quotes, to the closing one; in backslash-escaped quotes (\"...\" in JSON
// text inside a JSON string), to the closing \" or \'; otherwise to the
// next space, quote, '&', ';' or ','. An empty value is no secret.
const secretValue = `(?:\\"((?:[^"\\]|\\[^"])+)|\\'((?:[^'\\]|\\[^'])+)|"((?:[^"\\]|\\[\s\S])+)|'([^']+)|([^\s"&;,'\\][^\s"&;,']*))`

var secretPatterns = []secretPattern{
	{
		name:  "bearer_token",
		maybe: func(t trigger) bool { return t&trBearer != 0 },
		re:    regexp.MustCompile(`(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{8,}=*)`),
	},
	{
		// HTTP Basic credentials, base64 of "user:password": the match
		// must decode to printable text with a colon, so that prose such
		// as "basic plan" or "Basic auth" is left alone.
		name:  "basic_auth",
		maybe: func(t trigger) bool { return t&trBasic != 0 },
		re:    regexp.MustCompile(`\b` + asciiFold("basic") + `\s+([A-Za-z0-9+/]{4,}={0,2})`),
		valid: isBasicCredentials,
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
		// The password of a URL's user info (scheme://user:password@host);
		// the user may be empty (redis://:pw@host). A user without a
		// password (https://ada@host) is no secret.
		name:  "url_password",
		maybe: func(t trigger) bool { return t&trURLPassword != 0 },
		// The password runs to the last '@' of the authority, so that it
		// may hold an '@' itself (postgres://app:p@ss@db).
		re: regexp.MustCompile(`://[^\s/?#@:]*:([^\s/?#]+)@`),
	},
	{
		// name=value or name: value, the name and value optionally quoted
		// ("aws_secret_access_key": "..." in JSON text). The first
		// alternative, without group 1, consumes a URL's user name that
		// ends in a secret word (https://x-access-token:...@github.com):
		// url_password censors that password, and the host stays readable.
		// The name may end in a quote, or a backslash-escaped one (JSON
		// text inside a JSON string); see secretValue for the value.
		name:  "password_assignment",
		maybe: func(t trigger) bool { return t&trAssignment != 0 },
		re:    regexp.MustCompile(`://[^\s/?#@:]*(?:` + secretWords + `)|(?:` + secretWords + `)(?:\\?["'])?\s*[=:]\s*` + secretValue),
	},
	{
		// A command-line flag and its value: --password hunter2,
		// --db-passwd 'x y'. --password=hunter2 is an assignment. A value
		// starting with '-' is the next flag: the alternative without a
		// group consumes it.
		name:  "password_flag",
		maybe: func(t trigger) bool { return t&trAssignment != 0 },
		re:    regexp.MustCompile(`--(?:[A-Za-z0-9]+[-_])*` + asciiFold(`pass(?:word|wd|phrase)`) + `[ \t]+(?:-|` + secretValue + `)`),
	},
}

// isBasicCredentials reports whether s, standard base64 (padded, or
// unpadded as some clients send it), decodes to printable UTF-8 text
// holding a colon, as HTTP Basic credentials ("user:password") do. It
// allocates only for values of more than 340 characters.
func isBasicCredentials(s string) bool {
	data := strings.TrimRight(s, "=")
	if pad := len(s) - len(data); pad > 2 || pad > 0 && len(s)%4 != 0 || len(data)%4 == 1 {
		return false
	}
	var buf [256]byte
	d := buf[:0]
	if len(data)/4*3+3 > len(buf) {
		d = make([]byte, 0, len(data)/4*3+3) // far longer than credentials usually are
	}
	d = d[:cap(d)]
	n := 0
	for i := 0; i < len(data); i += 4 {
		var v uint32
		k := min(4, len(data)-i)
		for j := range k {
			d := base64Value[data[i+j]]
			if d < 0 {
				return false
			}
			v |= uint32(d) << (18 - 6*j)
		}
		d[n], d[n+1], d[n+2] = byte(v>>16), byte(v>>8), byte(v)
		n += k * 3 / 4 // 4 characters hold 3 bytes; 3 hold 2; 2 hold 1
	}
	d = d[:n]
	if !utf8.Valid(d) || bytes.IndexByte(d, ':') < 0 {
		return false
	}
	for _, c := range d {
		if c < ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

// base64Value maps the characters of standard base64 to their value, and
// every other byte to -1.
var base64Value = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i, c := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/" {
		t[c] = int8(i)
	}
	return t
}()

// triggerStart marks the bytes a trigger substring can start with; every
// other byte is skipped by one table load.
var triggerStart = func() (t [256]bool) {
	for _, c := range "bBPAgx_:pPsStTkKcC" {
		t[c] = true
	}
	return t
}()

// triggerPairs holds the pairs of bytes a trigger substring can start
// with, the second one ORed with 0x20 (which lowercases ASCII letters):
// a second table load skips most bytes triggerStart lets through.
var triggerPairs = func() (b byteSet) {
	for _, p := range []string{"be", "ba", "Be", "Ba", "AK", "AS", "gh", "gi", "xo", "PR", "://",
		"pa", "pw", "Pa", "Pw", "se", "Se", "to", "To", "ke", "Ke", "cr", "Cr"} {
		b.add(p[0], p[1]|0x20)
	}
	for n := range 256 {
		b.add('_', byte(n))
	}
	return b
}()

// A byteSet is a set of pairs of bytes.
type byteSet [256 * 256 / 64]uint64

func (b *byteSet) add(x, y byte) {
	i := int(x)<<8 | int(y)
	b[i>>6] |= 1 << (i & 63)
}

func (b *byteSet) has(x, y byte) bool {
	i := int(x)<<8 | int(y)
	return b[i>>6]&(1<<(i&63)) != 0
}

// triggers returns the trigger substrings s contains.
func triggers(s string) trigger {
	var t trigger
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !triggerStart[c] {
			continue
		}
		if i+1 == len(s) {
			if c == '_' {
				t |= trUnderscore
			}
			break
		}
		if !triggerPairs.has(c, s[i+1]|0x20) {
			continue
		}
		rest := s[i:]
		switch c {
		case '_':
			t |= trUnderscore
		case ':':
			if t&trURLPassword == 0 && strings.HasPrefix(rest, "://") && urlHasPassword(rest[3:]) {
				t |= trURLPassword
			}
		case 'b', 'B':
			if hasPrefixFold(rest, "bearer") {
				t |= trBearer
			} else if t&trBasic == 0 && hasPrefixFold(rest, "basic") && basicFollows(rest[len("basic"):]) {
				t |= trBasic
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
		case 'P', 'p', 's', 'S', 't', 'T', 'k', 'K', 'c', 'C':
			if c == 'P' && strings.HasPrefix(rest, "PRIVATE KEY-----") {
				t |= trPEM
			}
			if len(rest) < 4 || t&trAssignment != 0 {
				break
			}
			// The first two letters of the secret words, before the call.
			switch uint16(c|0x20)<<8 | uint16(rest[1]|0x20) {
			case 'p'<<8 | 'a', 'p'<<8 | 'w', 's'<<8 | 'e', 't'<<8 | 'o', 'c'<<8 | 'r', 'k'<<8 | 'e':
				if secretWordAssigned(s, i) {
					t |= trAssignment
				}
			}
		}
	}
	return t
}

// secretWordAssigned reports whether one of the words of [secretWords]
// starts at s[i] and is followed by an assignment with a value, as
// password_assignment requires (or, for password, passwd and passphrase,
// by a flag's value: see [flagFollows]): an optional quote, spaces, '=' or ':',
// spaces, an optional quote, then a character of the value. For the
// compound *key words it checks "key" and what precedes it.
func secretWordAssigned(s string, i int) bool {
	rest := s[i:]
	switch rest[0] | 0x20 {
	case 'p':
		return hasPrefixFold(rest, "password") && (assignmentFollows(rest[len("password"):]) || flagFollows(s, i, len("password"))) ||
			hasPrefixFold(rest, "passwd") && (assignmentFollows(rest[len("passwd"):]) || flagFollows(s, i, len("passwd"))) ||
			hasPrefixFold(rest, "passphrase") && (assignmentFollows(rest[len("passphrase"):]) || flagFollows(s, i, len("passphrase"))) ||
			hasPrefixFold(rest, "pwd") && assignmentFollows(rest[len("pwd"):])
	case 's':
		return hasPrefixFold(rest, "secret") && assignmentFollows(rest[len("secret"):])
	case 't':
		return hasPrefixFold(rest, "token") && assignmentFollows(rest[len("token"):])
	case 'c':
		return hasPrefixFold(rest, "credential") &&
			(assignmentFollows(rest[len("credential"):]) ||
				len(rest) > len("credential") && rest[len("credential")]|0x20 == 's' && assignmentFollows(rest[len("credentials"):]))
	case 'k':
		if !hasPrefixFold(rest, "key") || !assignmentFollows(rest[len("key"):]) {
			return false
		}
		before := s[:i]
		if n := len(before); n > 0 && (before[n-1] == '_' || before[n-1] == '-') {
			before = before[:n-1]
		}
		return hasSuffixFold(before, "api") || hasSuffixFold(before, "access") ||
			hasSuffixFold(before, "secret") || hasSuffixFold(before, "private")
	}
	return false
}

// flagFollows reports whether s[i:i+n], a password word, may be a flag
// followed by its value, as password_flag matches it: "--" before it, and
// a space or tab then a character after it.
func flagFollows(s string, i, n int) bool {
	rest := s[i+n:]
	return len(rest) >= 2 && (rest[0] == ' ' || rest[0] == '\t') && strings.Contains(s[:i], "--")
}

// isRESpace reports whether c is in the \s class of package regexp.
func isRESpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'
}

// assignmentFollows reports whether s may start as password_assignment
// continues after its name: (\\?["'])?\s*[=:]\s* then the start of a
// [secretValue] with at least one character of the secret.
func assignmentFollows(s string) bool {
	j := 0
	if j+1 < len(s) && s[j] == '\\' && (s[j+1] == '"' || s[j+1] == '\'') {
		j += 2
	} else if j < len(s) && (s[j] == '"' || s[j] == '\'') {
		j++
	}
	for j < len(s) && isRESpace(s[j]) {
		j++
	}
	if j == len(s) || s[j] != '=' && s[j] != ':' {
		return false
	}
	j++
	for j < len(s) && isRESpace(s[j]) {
		j++
	}
	return valueFollows(s[j:])
}

// valueFollows reports whether s may start with a [secretValue]: a
// quote, or a backslash then a quote, followed by a character other than
// that quote; or a character of an unquoted value.
func valueFollows(s string) bool {
	if len(s) == 0 {
		return false
	}
	switch c := s[0]; c {
	case '"', '\'':
		return len(s) > 1 && s[1] != c
	case '\\':
		return len(s) > 2 && (s[1] == '"' || s[1] == '\'') && s[2] != s[1]
	case '&', ';', ',':
		return false
	default:
		return !isRESpace(c)
	}
}

// urlHasPassword reports whether s, what follows "://", starts with user
// info holding a password, as url_password matches it:
// [^\s/?#@:]*:[^\s/?#]+@.
// Not inlined: in the loop of triggers it slows every byte (BenchmarkScrub).
//
//go:noinline
func urlHasPassword(s string) bool {
	j := 0
	for j < len(s) && !userInfoStop[s[j]] {
		j++
	}
	if j == len(s) || s[j] != ':' {
		return false
	}
	j++
	k := j
	for ; j < len(s) && (!userInfoStop[s[j]] || s[j] == ':' || s[j] == '@'); j++ {
		if s[j] == '@' && j > k {
			return true // a password before it, which may hold '@'
		}
	}
	return false
}

// userInfoStop marks the bytes that end a URL's user name: \s, '/', '?',
// '#', '@' and ':'.
var userInfoStop = func() (t [256]bool) {
	for _, c := range " \t\n\f\r/?#@:" {
		t[c] = true
	}
	return t
}()

// basicFollows reports whether s, what follows "basic", is whitespace
// then base64 credentials, as basic_auth matches them: \s+ then
// [A-Za-z0-9+/]{4,}={0,2} that [isBasicCredentials] accepts.
// Not inlined, as urlHasPassword.
//
//go:noinline
func basicFollows(s string) bool {
	j := 0
	for j < len(s) && isRESpace(s[j]) {
		j++
	}
	if j == 0 {
		return false
	}
	k := j
	for j < len(s) && base64Value[s[j]] >= 0 {
		j++
	}
	if j-k < 4 {
		return false
	}
	for p := 0; p < 2 && j < len(s) && s[j] == '='; p++ {
		j++
	}
	return isBasicCredentials(s[k:j])
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

// hasSuffixFold reports whether s ends with the lowercase ASCII word
// suffix, ignoring ASCII case.
func hasSuffixFold(s, suffix string) bool {
	return len(s) >= len(suffix) && hasPrefixFold(s[len(s)-len(suffix):], suffix)
}

// secretNameWords are the endings of attribute names whose values are
// secrets whatever they look like: a name is secret when, lowercased and
// without its '_' and '-', it ends in one of them (password, DB_PASSWORD,
// client_secret, aws_secret_access_key, x-api-key, access_token,
// private_key, credentials, Authorization, pwd, db_pwd). api_key_uid,
// max_tokens and censored_key are not secret names. A name ending in pass
// is secret too when pass is the whole name or follows '_', '-' or '.'
// (db_pass, DB-PASS, not bypass or compass): see [isPassName].
var secretNameWords = []string{
	"password", "passwd", "passphrase", "pwd", "secret", "token", "apikey", "accesskey",
	"secretkey", "privatekey", "credential", "credentials", "authorization",
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
			i, j := secretSpan(m)
			if i < 0 || isCensored(s[i:j]) || p.valid != nil && !p.valid(s[i:j]) {
				continue
			}
			b.WriteString(s[last:i])
			b.WriteString(Censor(s[i:j]))
			last = j
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

// secretSpan returns the bounds of the first group of the match m that
// matched: the secret (a pattern's alternatives each have their own group).
// It returns -1, -1 when no group matched.
func secretSpan(m []int) (int, int) {
	for g := 2; g+1 < len(m); g += 2 {
		if m[g] >= 0 {
			return m[g], m[g+1]
		}
	}
	return -1, -1
}

// looksSecret reports whether s contains something [scrub] would censor.
func looksSecret(s string) bool {
	_, n := scrub(s)
	return n > 0
}

// scrubMap censors secrets inside m in place: string values that contain
// a secret, and string and number values of attributes named like a
// secret. It returns the number of secrets found.
func scrubMap(m map[string]any) int {
	hits := 0
	for k, e := range m {
		hits += scrubEntry(m, k, e)
	}
	return hits
}

// scrubEntry is [scrubMap] for the attribute k of m, whose value is e.
// A secret-named attribute is censored whole: a string, or a number as
// the text of its JSON value (so it becomes a string, as at a sensitive
// path); true, false and null are kept; in a list or an object, every
// such value at any depth (see [censorAll]).
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
		if isSecretName(k) {
			return censorAll(x)
		}
		return scrubMap(x)
	case []any:
		if isSecretName(k) {
			return censorAll(x)
		}
		return scrubList(x)
	case bool, nil:
	default:
		if isSecretName(k) {
			if t, ok := numberText(e); ok {
				m[k] = Censor(t)
				return 1
			}
		}
	}
	return 0
}

// censorAll censors in place every string and number inside v, a list
// or an object, keeping its structure: a string with [Censor], a number as
// the text of its JSON value (so it becomes a string); true, false, null,
// empty strings and values already censored are kept. It returns how many
// values it censored.
func censorAll(v any) int {
	hits := 0
	censor := func(e any) (any, bool) {
		switch x := e.(type) {
		case map[string]any, []any:
			hits += censorAll(x)
		case string:
			if x != "" && !isCensored(x) {
				hits++
				return Censor(x), true
			}
		case bool, nil:
		default:
			if t, ok := numberText(e); ok {
				hits++
				return Censor(t), true
			}
		}
		return nil, false
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if r, ok := censor(e); ok {
				x[k] = r
			}
		}
	case []any:
		for i, e := range x {
			if r, ok := censor(e); ok {
				x[i] = r
			}
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

// isSecretName reports whether k is a secret name (see [secretNameWords]),
// without allocating for names whose last characters are ASCII.
func isSecretName(k string) bool {
	// Most names stop at their last two bytes (see secretNameEnds).
	return len(k) >= len("pwd") && secretNameEnds.has(k[len(k)-2]|0x20, k[len(k)-1]|0x20) &&
		(isPassName(k) || isSecretNameTail(k))
}

// isPassName reports whether k, in any ASCII case, is pass or ends in
// _pass, -pass or .pass.
func isPassName(k string) bool {
	n := len(k)
	return n >= 4 && hasPrefixFold(k[n-4:], "pass") && (n == 4 || k[n-5] == '_' || k[n-5] == '-' || k[n-5] == '.')
}

// secretNameEnds holds the last two bytes, ORed with 0x20, of the names
// [isSecretName] must look at further: the last two letters of a secret
// word, and any pair with a separator ('_' becomes 0x7f) or a non-ASCII
// byte.
var secretNameEnds = func() (b byteSet) {
	for _, w := range secretNameWords {
		b.add(w[len(w)-2], w[len(w)-1])
	}
	b.add('s', 's') // pass
	for n := range 256 {
		for _, x := range []byte{'_' | 0x20, '-'} {
			b.add(x, byte(n))
			b.add(byte(n), x)
		}
		for x := utf8.RuneSelf; x < 256; x++ {
			b.add(byte(x), byte(n))
			b.add(byte(n), byte(x))
		}
	}
	return b
}()

// isSecretNameTail is [isSecretName] past its first test.
func isSecretNameTail(k string) bool {
	n := len(k)
	if n < 4 {
		return endsWithWord(k, "pwd")
	}
	if plainNameByte[k[n-4]] && plainNameByte[k[n-3]] && plainNameByte[k[n-2]] && plainNameByte[k[n-1]] && !hasSuffixFold(k, "pwd") {
		// The last 4 characters are ASCII letters or digits: they must
		// end a word (but for pwd, which the switch below checks), and
		// "tion" must be "ation".
		switch uint32(k[n-4])<<24 | uint32(k[n-3])<<16 | uint32(k[n-2])<<8 | uint32(k[n-1]) | 0x20202020 {
		case 'w'<<24 | 'o'<<16 | 'r'<<8 | 'd', 's'<<24 | 's'<<16 | 'w'<<8 | 'd', 'r'<<24 | 'a'<<16 | 's'<<8 | 'e',
			'c'<<24 | 'r'<<16 | 'e'<<8 | 't', 'o'<<24 | 'k'<<16 | 'e'<<8 | 'n', 'i'<<24 | 'k'<<16 | 'e'<<8 | 'y',
			's'<<24 | 'k'<<16 | 'e'<<8 | 'y', 't'<<24 | 'k'<<16 | 'e'<<8 | 'y', 'e'<<24 | 'k'<<16 | 'e'<<8 | 'y',
			't'<<24 | 'i'<<16 | 'a'<<8 | 'l', 'i'<<24 | 'a'<<16 | 'l'<<8 | 's':
		case 't'<<24 | 'i'<<16 | 'o'<<8 | 'n':
			if c := k[n-5]; plainNameByte[c] && c|0x20 != 'a' {
				return false
			}
		default:
			return false
		}
	}
	switch lowerASCII(k[n-1]) { // the words that end in it
	case 'd':
		return endsWithWord(k, "password") || endsWithWord(k, "passwd") || endsWithWord(k, "pwd")
	case 'e':
		return endsWithWord(k, "passphrase")
	case 't':
		return endsWithWord(k, "secret")
	case 'n':
		return endsWithWord(k, "token") || endsWithWord(k, "authorization")
	case 'y':
		return endsWithWord(k, "apikey") || endsWithWord(k, "accesskey") ||
			endsWithWord(k, "secretkey") || endsWithWord(k, "privatekey")
	case 'l':
		return endsWithWord(k, "credential")
	case 's':
		return endsWithWord(k, "credentials")
	}
	// A separator or a non-ASCII byte last.
	for _, w := range secretNameWords {
		if endsWithWord(k, w) {
			return true
		}
	}
	return false
}

// plainNameByte marks ASCII letters and digits.
var plainNameByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
	}
	return t
}()

// endsWithWord reports whether k, lowercased and without '_' and '-',
// ends in the lowercase ASCII word w.
func endsWithWord(k, w string) bool {
	j := len(w)
	for i := len(k) - 1; i >= 0 && j > 0; i-- {
		c := k[i]
		switch {
		case c >= utf8.RuneSelf:
			return isSecretNameUnicode(k)
		case c == '_' || c == '-':
			continue
		}
		j--
		if lowerASCII(c) != w[j] {
			return false
		}
	}
	return j == 0
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// isSecretNameUnicode is [isSecretName] for names with non-ASCII
// characters: strings.ToLower maps some of them to ASCII letters (the
// Kelvin sign to k).
func isSecretNameUnicode(k string) bool {
	return hasSecretNameEnding(strings.NewReplacer("_", "", "-", "").Replace(strings.ToLower(k)))
}

// hasSecretNameEnding reports whether k, lowercase and without '_' and
// '-', ends in one of [secretNameWords].
func hasSecretNameEnding(k string) bool {
	for _, w := range secretNameWords {
		if strings.HasSuffix(k, w) {
			return true
		}
	}
	return false
}
