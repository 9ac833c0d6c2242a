package schema

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/event"
)

// TestScrub checks the detector on strings as platforms log them: what is
// censored (only the secret), how many hits, and the prose it must leave
// alone.
func TestScrub(t *testing.T) {
	t.Parallel()
	ghs := "ghs_" + strings.Repeat("q", 32) + "WXYZ"
	tests := []struct {
		name string
		in   string
		want string // "" means in, unchanged, with no hit
		hits int
	}{
		// Assignments whose name ends in a secret word.
		{name: "aws secret key", in: "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", want: "aws_secret_access_key=************************************EKEY", hits: 1},
		{name: "aws secret key env", in: "AWS_SECRET_ACCESS_KEY: wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", want: "AWS_SECRET_ACCESS_KEY: ************************************EKEY", hits: 1},
		{
			name: "json text in a string",
			in:   `{"aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "region": "eu-west-1"}`,
			want: `{"aws_secret_access_key": "************************************EKEY", "region": "eu-west-1"}`,
			hits: 1,
		},
		{name: "single quoted name", in: `{'db_password': 'hunter2'}`, want: `{'db_password': '*******'}`, hits: 1},
		{name: "db password", in: "db_password=hunter2 user=app", want: "db_password=******* user=app", hits: 1},
		{name: "x api key", in: "x_api_key=abcdef0123456789", want: "x_api_key=************6789", hits: 1},
		{name: "api key header", in: "X-Api-Key: abcdef0123456789", want: "X-Api-Key: ************6789", hits: 1},
		{name: "auth token header", in: "X-Auth-Token: abcdef0123456789", want: "X-Auth-Token: ************6789", hits: 1},
		{name: "secret key", in: "SECRET_KEY='django-insecure-abcdefgh'", want: "SECRET_KEY='********************efgh'", hits: 1},
		{name: "dotted name", in: "spring.datasource.password=s3cr3t!", want: "spring.datasource.password=*******", hits: 1},
		{name: "private key", in: "private_key: abcdefghijklmnop", want: "private_key: ************mnop", hits: 1},
		{name: "credentials", in: "credentials: ada:hunter2", want: "credentials: ***********", hits: 1},
		{name: "client secret", in: "client_secret=0123456789abcdef&grant_type=x", want: "client_secret=************cdef&grant_type=x", hits: 1},
		// Quoted values run to the closing quote, past spaces and escapes.
		{name: "double quoted spaces", in: `PASSWORD="hunter 2 with spaces" user=app`, want: `PASSWORD="****************aces" user=app`, hits: 1},
		{name: "single quoted spaces", in: `password='quoted secret' ok`, want: `password='*********cret' ok`, hits: 1},
		{name: "escaped quotes", in: `{"msg": "{\"password\": \"esc aped\"}"}`, want: `{"msg": "{\"password\": \"********\"}"}`, hits: 1},
		{name: "escaped quotes value", in: `cmd password=\"escaped\" done`, want: `cmd password=\"*******\" done`, hits: 1},
		{name: "escaped single quotes", in: `token=\'ab cd ef gh\' x`, want: `token=\'***********\' x`, hits: 1},
		{name: "json escape in value", in: `{"password": "a\"b c", "u": "ada"}`, want: `{"password": "******", "u": "ada"}`, hits: 1},
		{name: "unterminated quote", in: `secret: "top secret value`, want: `secret: "************alue`, hits: 1},
		{name: "two quoted", in: `token="a b" password='c d'`, want: `token="***" password='***'`, hits: 2},
		// Command-line flags.
		{name: "flag", in: "mysql --user app --password hunter2 db", want: "mysql --user app --password ******* db", hits: 1},
		{name: "flag equals", in: "mysql --password=hunter2 db", want: "mysql --password=******* db", hits: 1},
		{name: "flag quoted", in: `psql --db-password "hunter 2" -h db`, want: `psql --db-password "********" -h db`, hits: 1},
		{name: "flag passwd", in: "x --PASSWD\tsw0rdfish1234", want: "x --PASSWD\t*********1234", hits: 1},
		// URL user info: only the password.
		{name: "url password with at", in: "postgres://app:p@ss@db/prod", want: "postgres://app:****@db/prod", hits: 1},
		{name: "url password with ats", in: "dsn=mysql://root:p@ss@w0rd!xyz@db:3306?x=1 ok", want: "dsn=mysql://root:*********!xyz@db:3306?x=1 ok", hits: 1},
		{name: "postgres url", in: "postgres://app:s3cr3tpass@db.internal:5432/x", want: "postgres://app:**********@db.internal:5432/x", hits: 1},
		{name: "https url", in: "GET https://user:pw@host/ failed", want: "GET https://user:**@host/ failed", hits: 1},
		{name: "empty user", in: "redis://:hunter2@cache:6379/0", want: "redis://:*******@cache:6379/0", hits: 1},
		{name: "user named like a secret", in: "https://token:abcdefgh@host/x", want: "https://token:********@host/x", hits: 1},
		{name: "url then query password", in: "https://token:abcdefgh@host/?password=hunter22", want: "https://token:********@host/?password=********", hits: 2},
		{name: "github app token in url", in: "https://x-access-token:" + ghs + "@github.com/o/r.git", want: "https://x-access-token:" + strings.Repeat("*", 36) + "WXYZ@github.com/o/r.git", hits: 1},
		// HTTP Basic credentials.
		{name: "basic", in: "Authorization: Basic dXNlcjpwYXNz", want: "Authorization: Basic ********YXNz", hits: 1},
		{name: "basic upper", in: "authorization: BASIC dXNlcjpwYXNz", want: "authorization: BASIC ********YXNz", hits: 1},
		{name: "basic padded", in: "-H 'Proxy-Authorization: basic YWxhZGRpbjpvcGVuIHNlc2FtZQ=='", want: "-H 'Proxy-Authorization: basic ************************ZQ=='", hits: 1},
		{name: "basic unpadded", in: "Authorization: Basic YWxhZGRpbjpvcGVuIHNlc2FtZQ", want: "Authorization: Basic **********************FtZQ", hits: 1},
		// Censored as documented, though not always a secret.
		{name: "password prose", in: "password: changed", want: "password: *******", hits: 1},
		{name: "pwd env", in: "PWD=/root", want: "PWD=*****", hits: 1},
		// Left alone.
		{name: "key value prose", in: "the key: value pairs"},
		{name: "token count", in: "token count=5"},
		{name: "tokens", in: "tokens: 5"},
		{name: "max tokens", in: "max_tokens=512 temperature=0.2"},
		{name: "api key uid", in: "api_key_uid=17"},
		{name: "secret name", in: "secret_name=prod-db"},
		{name: "token type", in: "token_type=bearer"},
		{name: "key alone", in: "rotated key_name=prod-ci sort_key=ts"},
		{name: "url without password", in: "https://ada@example.com/x"},
		{name: "at in path", in: "https://host:8443/users/@ada"},
		{name: "flag without value", in: "run --password --verbose"},
		{name: "flag other", in: "run --passes 3 --bypass x --pass-count 2"},
		{name: "pass prose", in: "tests pass: 12, bypass=on, compass=north"},
		{name: "empty quoted", in: `password="" token='' secret=\"\"`},
		{name: "lone quote", in: `password="`},
		{name: "ssh url", in: "ssh://git@github.com:22/o/r"},
		{name: "port then at", in: "http://host:8080/path@x"},
		{name: "port after secret word", in: "https://secret:8443/x"},
		{name: "email", in: "mailto:ada@example.com password reset"},
		{name: "basic plan", in: "basic plan: 5 seats"},
		{name: "basic auth prose", in: "Basic auth failed for ada"},
		{name: "basic info", in: "basic info"},
		{name: "basic without colon", in: "Authorization: Basic dXNlcg=="},
		{name: "basic binary", in: "basic AAECAwQ6"},
		{name: "censored url", in: "postgres://app:**********@db.internal:5432/x"},
		{name: "censored basic", in: "Authorization: Basic ********YXNz"},
		{name: "censored prefixed", in: "aws_secret_access_key=************************************EKEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := tt.want
			if want == "" {
				want = tt.in
			}
			got, hits := scrub(tt.in)
			if got != want || hits != tt.hits {
				t.Errorf("scrub(%q) =\n  %q, %d hits\nwant\n  %q, %d hits", tt.in, got, hits, want, tt.hits)
			}
			// Censoring is idempotent: a second pass finds nothing.
			if again, n := scrub(got); again != got || n != 0 {
				t.Errorf("scrub(%q) = %q, %d hits; want unchanged, 0 hits", got, again, n)
			}
		})
	}
}

// TestCatalog_SecretNames: attributes whose name ends in a secret word are
// censored whole, at any depth; names that only contain one are scanned.
func TestCatalog_SecretNames(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, `schemas { unknown_event_name = "accept" }`)
	e := &event.Event{Name: "free", Type: "x", Details: details(t, `{
		"aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG",
		"db_password": "hunter2",
		"client_secret": "0123456789abcdef",
		"private_key": "MIIEowIBAAKCAQEA7",
		"access_token": "eyJhbGciOiJIUzI1NiJ9",
		"X-Api-Key": "abc123",
		"Proxy-Authorization": "Basic whatever",
		"nested": {"credentials": "ada:hunter2", "list": [{"refresh_token": "r3fr3sh"}]},
		"api_key_uid": 17,
		"censored_key": "****E4YO",
		"max_tokens": 512,
		"token_type": "bearer",
		"secret_name": "prod-db",
		"PWD": "/root",
		"pwd": "hunter2",
		"pass": "hunter2",
		"db_pass": "hunter2",
		"DB-PASS": 1234,
		"smtp.pass": "hunter2",
		"passwd": "hunter2",
		"bypass": "on",
		"compass": "north",
		"pass_count": 3,
		"passes": "x"
	}`)}
	if err := c.Apply(e); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	want := details(t, `{
		"aws_secret_access_key": "*****************DENG",
		"db_password": "*******",
		"client_secret": "************cdef",
		"private_key": "*************QEA7",
		"access_token": "****************NiJ9",
		"X-Api-Key": "******",
		"Proxy-Authorization": "**********ever",
		"nested": {"credentials": "***********", "list": [{"refresh_token": "*******"}]},
		"api_key_uid": 17,
		"censored_key": "****E4YO",
		"max_tokens": 512,
		"token_type": "bearer",
		"secret_name": "prod-db",
		"PWD": "*****",
		"pwd": "*******",
		"pass": "*******",
		"db_pass": "*******",
		"DB-PASS": "****",
		"smtp.pass": "*******",
		"passwd": "*******",
		"bypass": "on",
		"compass": "north",
		"pass_count": 3,
		"passes": "x"
	}`)
	if diff := cmp.Diff(want, e.Details); diff != "" {
		t.Errorf("Details (-want +got):\n%s", diff)
	}
	if got := c.Redacted(); got != 16 {
		t.Errorf("Redacted() = %d, want 16", got)
	}
}

// TestCatalog_NonStringValues pins what happens to numbers, booleans and
// null at a sensitive path and under a secret name: a number becomes the
// redacted text of its JSON value (a string); true, false and null are
// kept. A second Apply changes nothing and counts nothing.
func TestCatalog_NonStringValues(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, `
schema "acct" {
  details = object({
    uid   = number
    pin   = optional(number)
    card  = optional(number)
    mfa   = optional(bool)
    extra = optional(any)
  })
  sensitive = ["pin", "card", "mfa"]
}
`)
	e := &event.Event{Name: "acct", Type: "update", Details: details(t, `{
		"uid": 3, "pin": 1234, "card": 4111111111111111, "mfa": true,
		"extra": {"password": 123456, "secret": false, "token": null, "api_key": 1.5e3, "count": 7}
	}`)}
	e.Details["extra"].(map[string]any)["passphrase"] = float64(42) // a Go number, as a parser may build
	for pass := range 2 {
		// The second pass rejects the censored pin (a string now), and
		// redacts as before.
		if err := c.Apply(e); (err != nil) != (pass == 1) {
			t.Fatalf("pass %d: Apply: %v", pass, err)
		}
		want := map[string]any{
			"uid": json.Number("3"), "pin": "****", "card": "************1111", "mfa": true,
			"extra": map[string]any{
				"password": "******", "secret": false, "token": nil, "api_key": "*****",
				"count": json.Number("7"), "passphrase": "**",
			},
		}
		if diff := cmp.Diff(want, e.Details); diff != "" {
			t.Errorf("pass %d: Details (-want +got):\n%s", pass, diff)
		}
		if got := c.Redacted(); got != 3 {
			t.Errorf("pass %d: Redacted() = %d, want 3", pass, got)
		}
	}
}

// TestCatalog_SecretContainers: a list or an object under a secret name is
// censored whole, at any depth, keeping its structure, with or without a
// schema declaring it; other containers are only scanned.
func TestCatalog_SecretContainers(t *testing.T) {
	t.Parallel()
	in := `{
		"client_secret": ["s1", "s2", "", "************cdef"],
		"secret": {"a": 1, "b": "x", "c": true, "d": null, "e": [2.5, {"f": "nested value"}]},
		"nested": {"tokens": {"refresh_token": ["r3fr3sh"]}},
		"names": ["ada", "password=hunter2"],
		"other": {"a": 1, "b": "x"}
	}`
	want := map[string]any{
		"client_secret": []any{"**", "**", "", "************cdef"},
		"secret": map[string]any{
			"a": "*", "b": "*", "c": true, "d": nil,
			"e": []any{"***", map[string]any{"f": "********alue"}},
		},
		"nested": map[string]any{"tokens": map[string]any{"refresh_token": []any{"*******"}}},
		"names":  []any{"ada", "password=*******"},
		"other":  map[string]any{"a": json.Number("1"), "b": "x"},
	}
	for _, cfg := range []string{
		`schemas { unknown_event_name = "accept" }`,
		// A schema without sensitive paths takes the fast path of Apply.
		`schema "free" {
  details = object({
    client_secret = list(string)
    secret        = any
    nested        = any
    names         = list(string)
    other         = map(any)
  })
}`,
	} {
		c := mustLoad(t, cfg)
		e := &event.Event{Name: "free", Type: "x", Details: details(t, in)}
		for pass := range 2 {
			if err := c.Apply(e); err != nil {
				t.Fatalf("pass %d: Apply: %v", pass, err)
			}
			if diff := cmp.Diff(want, e.Details); diff != "" {
				t.Errorf("pass %d: Details (-want +got):\n%s", pass, diff)
			}
			if got := c.Redacted(); got != 8 {
				t.Errorf("pass %d: Redacted() = %d, want 8", pass, got)
			}
		}
	}
}

// TestCatalog_SecretNameNotQuoted: a validation error under a declared
// secret-named attribute does not quote the value, which is censored.
func TestCatalog_SecretNameNotQuoted(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, `schema "free" {
  details = object({ client_secret = list(string), db_pass = optional(number) })
}`)
	for _, tt := range []struct{ in, want string }{
		{`{"client_secret": ["s1", 5]}`, "event_details.client_secret[1]: want string, got number"},
		{`{"client_secret": [], "db_pass": "hunter2"}`, "event_details.db_pass: want number, got string (7 characters, not shown)"},
	} {
		e := &event.Event{Name: "free", Type: "x", Details: details(t, tt.in)}
		if err := c.Apply(e); err == nil || err.Error() != tt.want {
			t.Errorf("Apply(%s) = %v, want %s", tt.in, err, tt.want)
		}
	}
}
