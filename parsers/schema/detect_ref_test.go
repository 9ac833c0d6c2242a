package schema

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/event"
)

// The detector as first written, kept as the reference the optimised
// prechecks of detect.go must agree with: independent substring tests per
// pattern, and strings.ToLower for attribute names.

var refMaybe = []func(s string) bool{
	func(s string) bool { return containsFoldRef(s, "bearer") },
	func(s string) bool { return containsFoldRef(s, "basic") },
	func(s string) bool { return strings.Contains(s, "PRIVATE KEY-----") },
	func(s string) bool { return strings.Contains(s, "AKIA") || strings.Contains(s, "ASIA") },
	func(s string) bool {
		return strings.Contains(s, "github_pat_") || strings.Contains(s, "gh") && strings.Contains(s, "_")
	},
	func(s string) bool { return strings.Contains(s, "xox") },
	func(s string) bool { return strings.Contains(s, "://") && strings.Contains(s, "@") },
	func(s string) bool {
		return strings.ContainsAny(s, "=:") &&
			(containsFoldRef(s, "pass") || containsFoldRef(s, "pwd") || containsFoldRef(s, "secret") ||
				containsFoldRef(s, "token") || containsFoldRef(s, "key") || containsFoldRef(s, "cred"))
	},
	func(s string) bool { return strings.Contains(s, "--") && containsFoldRef(s, "pass") },
}

func containsFoldRef(s, sub string) bool {
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

func scrubRef(s string) (string, int) {
	if len(s) < 8 {
		return s, 0
	}
	hits := 0
	for i := range secretPatterns {
		p := &secretPatterns[i]
		if !refMaybe[i](s) {
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
		}
	}
	return s, hits
}

func isSecretNameRef(k string) bool {
	lower := strings.ToLower(k)
	if lower == "pass" || strings.HasSuffix(lower, "_pass") || strings.HasSuffix(lower, "-pass") || strings.HasSuffix(lower, ".pass") {
		return true
	}
	k = strings.NewReplacer("_", "", "-", "").Replace(lower)
	for _, w := range secretNameWords {
		if strings.HasSuffix(k, w) {
			return true
		}
	}
	return false
}

var detectSeeds = []string{
	"", "plain", "dataset uploaded by ada", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig",
	"bearer abcdefgh12345678", "BEARER    abcdefgh12345678==", "using AKIAIOSFODNN7EXAMPLE for s3", "ASIAIOSFODNN7EXAMPLE",
	"ghp_" + strings.Repeat("a", 36), "github_pat_" + strings.Repeat("B", 22) + "_wxyz", "gho_" + strings.Repeat("Z9", 20),
	"xoxb-1234567890-abcdefABCDEF", "postgres://db?user=app&password=hunter2secret", `secret: "tops3cretvalue"`,
	"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nabcdWXYZ\n-----END RSA PRIVATE KEY-----",
	"AKIAIOSFODNN7EXAMPLE and AKIAIOSFODNN7EXAMPLF", "login password=hunter2 ok", "password=*abc",
	"rotated key_name=prod-ci", "password reset requested", "password=********cret", "10.0.0.12:53412",
	"api_key: sk-demo-NOTREAL0123456789", "ApiKey=abc123def456", "PWD=hunter22", "Token:abcdefghijkl",
	"access_token=abc.def.ghi&refresh_token=jkl.mno", "label != 'needs_review'", "s3://acme-ml-data/claims/2026q4/train.parquet",
	"https://llm-gateway.internal.example/v1", "rapidfuzz==3.10.1", "Bearer ghp_" + strings.Repeat("x", 40),
	"xoxp-AKIAIOSFODNN7EXAMPLE-password=hunter2222", "PRIVATE KEY----- bearer", "\xff\xfeBearer 0123456789abcdef",
	"************************************************************E4YO", "tOkEn = \"quoted-secret-value\"",
	"aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", `{"AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG"}`,
	"db_password=hunter2", "X-Api-Key: abcdef0123456789", "max_tokens=512 api_key_uid=17", "the key: value pairs",
	"postgres://app:s3cr3tpass@db.internal:5432/x", "https://ada@example.com/x", "redis://:pw@cache:6379",
	"https://x-access-token:ghs_" + strings.Repeat("q", 36) + "@github.com/o/r.git?password=hunter22",
	"Authorization: Basic dXNlcjpwYXNz", "authorization: basic YWxhZGRpbjpvcGVuc2VzYW1l", "basic plan: 5 seats",
	"Basic dXNlcjpwYXNz==", "BASIC YTpi", "credentials: ada:hunter2", "https://secret:8443/x",
	"api-key:x", "secret_key = 'x'", `password:""`, `token: "a`, "credentialsx=1", "Credentials=1", "credential :1",
	"key=1", "xapikey=1", "PrivateKey=1", "https://a:@b", "s://:x@", "basic\tYTpi", "basicYTpi", "basic YTpi==",
	"basic basic YTpi", "secret_\u212Aey=abc", "ba\u017Fic dXNlcjpwYXNz and basic plan", "pa\u017F\u017Fword=x secret=", `"passphrase"  =  'x'`, "pwd:\"\"x", "token=;x", "token=&", "token= ,",
	`PASSWORD="hunter 2 with spaces"`, `password='quoted secret'`, `password=\"escaped\"`, `{\"token\": \"a b\"}`, `token=\'x y\'`,
	`password=\"\"`, `password=\'`, `password=\`, `secret: "a\"b c`, `token="`, `token=""`, `token=''x`, "postgres://app:p@ss@db/prod",
	"s://a:@@x", "s://a:@", "s://:@b@c/d@e", "mysql --password hunter2", "--password --x", "--db-passwd 'x y'", "--PASSPHRASE\t\"a b\"",
	"--pass x", "-\rpassword x", "--passwordx y", "--a-b_password z", "- -password z",
}

func TestScrub_MatchesReference(t *testing.T) {
	t.Parallel()
	for _, s := range detectSeeds {
		gs, gn := scrub(s)
		ws, wn := scrubRef(s)
		if gs != ws || gn != wn {
			t.Errorf("scrub(%q) = %q, %d; reference %q, %d", s, gs, gn, ws, wn)
		}
	}
}

// FuzzScrub: the one-pass prechecks find what the reference finds.
func FuzzScrub(f *testing.F) {
	for _, s := range detectSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		gs, gn := scrub(s)
		ws, wn := scrubRef(s)
		if gs != ws || gn != wn {
			t.Fatalf("scrub(%q) = %q, %d; reference %q, %d", s, gs, gn, ws, wn)
		}
		if got, want := isSecretName(s), isSecretNameRef(s); got != want {
			t.Fatalf("isSecretName(%q) = %v, reference %v", s, got, want)
		}
	})
}

func TestIsSecretName(t *testing.T) {
	t.Parallel()
	names := []string{"", "name", "password", "PASSWORD", "Password", "passwd", "secret", "client_secret", "token", "Token",
		"access_token", "refresh_token", "private_key", "authorization", "Authorization", "api_key", "apikey", "APIKEY",
		"censored_key", "api_key_uid", "tokens", "toke", "to\u212Aen", "pa\u017Fsword", "ÄPI_KEY", "api_kéy", "client_secrets",
		"aws_secret_access_key", "AWS_SECRET_ACCESS_KEY", "db_password", "x-api-key", "X-Auth-Token", "private-key",
		"credentials", "Proxy-Authorization", "max_tokens", "token_type", "secret_name", "PWD", "db_pwd", "key", "sort_key",
		"_", "__token__", "pwd", "Pwd", "pass", "PASS", "db_pass", "db-pass", "db.pass", "x.PASS", "passwd", "db_pwd", "dbpwd", "p_w_d",
		"bypass", "compass", "pass_count", "pass_", "Bypass", "sub_bypass", "pw", "wd", "ss", "sKss", "ÿpass", "é_pass", "épass", "éPWD", "a_very_long_prefix_for_a_client_secret", "ünïcode_password", "ünïcode_passwords", "pass\u212Aword",
		"\xffsecret", "secret\xff",
		"authoriza_tion", "authoriza-tion", "description", "authorİzation", "apİkey", "to\u212Aen_", "secre_t", "pass-word", "a_p_i_k_e_y"}
	for _, k := range secretNameWords {
		names = append(names, k, strings.ToUpper(k), "x_"+k, k+"_id")
	}
	for _, k := range names {
		if got, want := isSecretName(k), isSecretNameRef(k); got != want {
			t.Errorf("isSecretName(%q) = %v, reference %v", k, got, want)
		}
	}
}

// censorRef is Censor as first written, without the fast path for values
// already censored.
func censorRef(s string) string {
	n := utf8.RuneCountInString(s)
	if n < censorKeepMin {
		return strings.Repeat("*", n)
	}
	i := len(s)
	for range 4 {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	if strings.TrimLeft(s[:i], "*") == "" {
		return s
	}
	return strings.Repeat("*", n-4) + s[i:]
}

func FuzzCensor(f *testing.F) {
	for _, s := range []string{"", "****", "************", "********E4YO", "**********\xe2\x82", "********\xc3\xe2\x82\xac", "*********éèêë", "hunter2hunte"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := Censor(s), censorRef(s); got != want {
			t.Fatalf("Censor(%q) = %q, reference %q", s, got, want)
		}
	})
}

// applyRef is Catalog.Apply as first written: check, redact the sensitive
// paths, then scan the whole map for secrets.
func applyRef(c *Catalog, e *event.Event) (int, error) {
	s := c.byType[nameType{e.Name, e.Type}]
	if s == nil {
		s = c.byName[e.Name]
	}
	var verr error
	if s != nil {
		d := any(e.Details)
		if e.Details == nil {
			d = map[string]any{}
		}
		if f := s.root.check(d); f != nil {
			verr = f.err()
		}
		if e.Details != nil {
			for _, p := range s.sensitive {
				redactPath(e.Details, p, s.redact)
			}
		}
	}
	hits := 0
	if c.detect && e.Details != nil {
		hits = scrubMap(e.Details)
	}
	return hits, verr
}

// TestApply_MatchesReference applies the catalog to the benchmark events,
// with secrets and odd values planted in their attributes, and compares
// with applyRef: same details, same error, same count of secrets.
func TestApply_MatchesReference(t *testing.T) {
	t.Parallel()
	c, diags := New(DefaultSettings(), nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	plants := []any{
		nil, "Authorization: Bearer 0123456789abcdef", "password=hunter2secret", "plain", json.Number("7"), true,
		[]any{"xoxb-1234567890-abcdefABCDEF"}, map[string]any{"token": "abcdefgh", "n": json.Number("1")},
	}
	evs := loadBenchEvents(t)
	for i, e := range evs {
		for j := -1; j < len(plants); j++ {
			got, want := e, e
			got.Details = cloneValue(e.Details).(map[string]any)
			want.Details = cloneValue(e.Details).(map[string]any)
			if j >= 0 {
				// Plant into an existing attribute (sorted order picks one
				// deterministically), and as a new attribute named like a secret.
				keys := sortedKeys(got.Details)
				k := keys[i%len(keys)]
				for _, d := range []map[string]any{got.Details, want.Details} {
					d[k] = cloneValue(plants[j])
					if i%3 == 0 {
						d["password"] = cloneValue(plants[j])
					}
				}
			}
			before := c.Redacted()
			gerr := c.Apply(&got)
			ghits := c.Redacted() - before
			whits, werr := applyRef(c, &want)
			if fmt.Sprint(gerr) != fmt.Sprint(werr) || ghits != int64(whits) {
				t.Errorf("event %d plant %d: Apply = %v, %d hits; reference %v, %d hits", i, j, gerr, ghits, werr, whits)
			}
			if diff := cmp.Diff(want.Details, got.Details); diff != "" {
				t.Errorf("event %d plant %d: details (-reference +Apply):\n%s", i, j, diff)
			}
		}
	}
}

// isBasicCredentialsRef is isBasicCredentials with package encoding/base64.
func isBasicCredentialsRef(s string) bool {
	if strings.ContainsAny(s, "\r\n") {
		return false // encoding/base64 skips line breaks; the pattern never passes one
	}
	enc := base64.StdEncoding
	if len(s)%4 != 0 {
		enc = base64.RawStdEncoding
	}
	d, err := enc.DecodeString(s)
	if err != nil || !utf8.Valid(d) || !bytes.Contains(d, []byte(":")) {
		return false
	}
	for _, c := range d {
		if c < ' ' || c == 0x7f {
			return false
		}
	}
	return true
}

func FuzzIsBasicCredentials(f *testing.F) {
	for _, s := range []string{"", strings.Repeat("YTpi", 100), strings.Repeat("YTpi", 86) + "YQ==", "dXNlcjpwYXNz", "dXNlcg==", "YTpi", "YTo", "YTpiYw==", "YTpiYw=", "YTpiYw", "YTpiYw===", "plan", "AAECAwQ6", "6w==", "Og==", "Og", "w6k6"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isBasicCredentials(s), isBasicCredentialsRef(s); got != want {
			t.Fatalf("isBasicCredentials(%q) = %v, reference %v", s, got, want)
		}
	})
}
