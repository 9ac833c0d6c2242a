package schema

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/event"
)

const validateConfig = `
schema "thing" {
  event_types = ["create"]
  details = object({
    uid     = number
    name    = string
    active  = optional(bool)
    tags    = optional(list(string))
    labels  = optional(set(string))
    meta    = optional(map(number))
    pair    = optional(tuple([string, number]))
    owner   = optional(object({ user_uid = number, email = optional(string) }))
    payload = optional(any)
  })
}

schema "strict" {
  details               = object({ uid = number, inner = optional(object({ a = string })) })
  additional_attributes = false
}

schema "secretive" {
  details   = object({ uid = number, token = string })
  sensitive = ["token"]
}
`

func TestCatalog_Validate(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, validateConfig)
	tests := []struct {
		name    string
		evName  string
		evType  string
		details string
		want    *ValidationError // nil: valid
	}{
		{name: "minimal", evName: "thing", evType: "create", details: `{"uid": 1, "name": "a"}`},
		{name: "all optional present", evName: "thing", evType: "create", details: `{
			"uid": 1, "name": "a", "active": true, "tags": ["x", "y"], "labels": ["z"],
			"meta": {"k": 1.5, "other key": -2}, "pair": ["p", 3],
			"owner": {"user_uid": 7, "email": "e@example.com"}, "payload": {"deep": [1, "two", null]}}`},
		{name: "optional null", evName: "thing", evType: "create", details: `{"uid": 1, "name": "a", "active": null, "owner": null}`},
		{name: "nested optional absent", evName: "thing", evType: "create", details: `{"uid": 1, "name": "a", "owner": {"user_uid": 2}}`},
		{name: "extra attribute kept", evName: "thing", evType: "create", details: `{"uid": 1, "name": "a", "new_field": "x"}`},
		{name: "empty list", evName: "thing", evType: "create", details: `{"uid": 1, "name": "a", "tags": []}`},
		{
			name: "string for number", evName: "thing", evType: "create", details: `{"uid": "abc", "name": "a"}`,
			want: &ValidationError{Path: "event_details.uid", Reason: `want number, got string "abc"`},
		},
		{
			name: "number for string", evName: "thing", evType: "create", details: `{"uid": 1, "name": 42}`,
			want: &ValidationError{Path: "event_details.name", Reason: "want string, got number 42"},
		},
		{
			name: "required missing", evName: "thing", evType: "create", details: `{"uid": 1}`,
			want: &ValidationError{Path: "event_details.name", Reason: "required attribute missing, want string"},
		},
		{
			name: "required null", evName: "thing", evType: "create", details: `{"uid": null, "name": "a"}`,
			want: &ValidationError{Path: "event_details.uid", Reason: "want number, got null"},
		},
		{
			name: "bad list element", evName: "thing", evType: "create", details: `{"uid": 1, "name": "a", "tags": ["x", 2]}`,
			want: &ValidationError{Path: "event_details.tags[1]", Reason: "want string, got number 2"},
		},
		{
			name: "list is object", evName: "thing", evType: "create", details: `{"uid": 1, "name": "a", "tags": {"x": "y"}}`,
			want: &ValidationError{Path: "event_details.tags", Reason: "want list, got object"},
		},
		{
			name: "bad map value", evName: "thing", evType: "create", details: `{"uid": 1, "name": "a", "meta": {"ok": 1, "not ok": true}}`,
			want: &ValidationError{Path: `event_details.meta["not ok"]`, Reason: "want number, got bool true"},
		},
		{
			name: "nested object", evName: "thing", evType: "create", details: `{"uid": 1, "name": "a", "owner": {"user_uid": "7"}}`,
			want: &ValidationError{Path: "event_details.owner.user_uid", Reason: `want number, got string "7"`},
		},
		{
			name: "tuple length", evName: "thing", evType: "create", details: `{"uid": 1, "name": "a", "pair": ["p"]}`,
			want: &ValidationError{Path: "event_details.pair", Reason: "want tuple of 2 elements, got 1"},
		},
		{
			name: "tuple element", evName: "thing", evType: "create", details: `{"uid": 1, "name": "a", "pair": [1, 2]}`,
			want: &ValidationError{Path: "event_details.pair[0]", Reason: "want string, got number 1"},
		},
		{
			name: "long value truncated", evName: "thing", evType: "create", details: `{"uid": "` + strings.Repeat("x", 40) + `", "name": "a"}`,
			want: &ValidationError{Path: "event_details.uid", Reason: `want number, got string "` + strings.Repeat("x", 32) + `…"`},
		},
		{
			name: "secret value not quoted", evName: "thing", evType: "create", details: `{"uid": "Bearer abcdefghijklmnop", "name": "a"}`,
			want: &ValidationError{Path: "event_details.uid", Reason: "want number, got string (23 characters, not shown)"},
		},
		{
			name: "sensitive value not quoted", evName: "secretive", evType: "x", details: `{"uid": 1, "token": 12345}`,
			want: &ValidationError{Path: "event_details.token", Reason: "want string, got number"},
		},
		{name: "strict ok", evName: "strict", evType: "any", details: `{"uid": 1, "inner": {"a": "b"}}`},
		{
			name: "strict extra", evName: "strict", evType: "any", details: `{"uid": 1, "zz": 1, "extra": 2}`,
			want: &ValidationError{Path: "event_details.extra", Reason: "attribute not declared in the schema (additional_attributes = false)"},
		},
		{
			name: "strict nested extra", evName: "strict", evType: "any", details: `{"uid": 1, "inner": {"a": "b", "c": 1}}`,
			want: &ValidationError{Path: "event_details.inner.c", Reason: "attribute not declared in the schema (additional_attributes = false)"},
		},
		{
			name: "details not object", evName: "strict", evType: "any", details: `{}`,
			want: &ValidationError{Path: "event_details.uid", Reason: "required attribute missing, want number"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := &event.Event{Name: tt.evName, Type: tt.evType, Details: details(t, tt.details)}
			err := c.Apply(e)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				return
			}
			got, ok := errors.AsType[*ValidationError](err)
			if !ok {
				t.Fatalf("Apply error = %v, want *ValidationError", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ValidationError (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCatalog_GoValues(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, validateConfig)
	e := &event.Event{Name: "thing", Type: "create", Details: map[string]any{"uid": int64(3), "name": "a", "meta": map[string]any{"f": 1.5}}}
	if err := c.Apply(e); err != nil {
		t.Fatalf("Apply: %v", err)
	}
}

func TestCatalog_EventTypes(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, `
schema "doc" {
  event_types = ["create"]
  details     = object({ doc_uid = number, title = string })
}
schema "doc" {
  event_types = ["delete", "archive"]
  details     = object({ doc_uid = number })
}
schema "note" {
  details = object({ text = string })
}
`)
	tests := []struct {
		name, evName, evType, details string
		wantPath                      string // "" means valid
	}{
		{name: "create needs title", evName: "doc", evType: "create", details: `{"doc_uid": 1}`, wantPath: "event_details.title"},
		{name: "delete has no title", evName: "doc", evType: "delete", details: `{"doc_uid": 1}`},
		{name: "second listed type", evName: "doc", evType: "archive", details: `{"doc_uid": 1}`},
		{name: "undeclared type", evName: "doc", evType: "update", details: `{"doc_uid": 1}`, wantPath: "event_type"},
		{name: "any type", evName: "note", evType: "whatever", details: `{"text": "x"}`},
		{name: "unknown name", evName: "nope", evType: "create", details: `{}`, wantPath: "event_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := c.Apply(&event.Event{Name: tt.evName, Type: tt.evType, Details: details(t, tt.details)})
			got := ""
			if ve, ok := errors.AsType[*ValidationError](err); ok {
				got = ve.Path
			} else if err != nil {
				t.Fatalf("Apply error = %v, want *ValidationError", err)
			}
			if got != tt.wantPath {
				t.Errorf("Apply error path = %q, want %q (err: %v)", got, tt.wantPath, err)
			}
		})
	}
	err := c.Apply(&event.Event{Name: "doc", Type: "update", Details: map[string]any{}})
	want := `event_type: no schema for event_type "update" of event_name "doc" (declared: archive, create, delete)`
	if err == nil || err.Error() != want {
		t.Errorf("Apply error = %v, want %s", err, want)
	}
}

func TestCatalog_UnknownPolicy(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, config string
		wantErr      string
	}{
		{name: "default dead letter", config: ``, wantErr: `event_name: no schema for event_name "mystery"`},
		{name: "explicit dead letter", config: `schemas { unknown_event_name = "dead_letter" }`, wantErr: `event_name: no schema for event_name "mystery"`},
		{name: "accept", config: `schemas { unknown_event_name = "accept" }`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustLoad(t, tt.config)
			e := &event.Event{Name: "mystery", Type: "create", Details: details(t, `{"note": "password=hunter2secret"}`)}
			err := c.Apply(e)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("Apply error = %q, want %q", got, tt.wantErr)
			}
			// The detector runs whatever the policy.
			if diff := cmp.Diff("password=*********cret", e.Details["note"]); diff != "" {
				t.Errorf("note (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCatalog_BuiltinOverride(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, `
schema "dataset" {
  event_types = ["create"]
  details     = object({ dataset_uid = number, name = string, owner = string })
}
`)
	// create is replaced: owner is now required.
	err := c.Apply(&event.Event{Name: "dataset", Type: "create", Details: details(t, `{"dataset_uid": 1, "name": "d"}`)})
	if ve, ok := errors.AsType[*ValidationError](err); !ok || ve.Path != "event_details.owner" {
		t.Errorf("create: Apply error = %v, want missing event_details.owner", err)
	}
	// delete still uses the built-in schema.
	if err := c.Apply(&event.Event{Name: "dataset", Type: "delete", Details: details(t, `{"dataset_uid": 1, "name": "d"}`)}); err != nil {
		t.Errorf("delete: Apply: %v", err)
	}

	// A block without event_types replaces every built-in schema of its
	// name: each event_type, built-in or new, now takes any details.
	c = mustLoad(t, `
schema "dataset" {
  details = any
}
`)
	for _, typ := range []string{"create", "delete", "rename"} {
		if err := c.Apply(&event.Event{Name: "dataset", Type: typ, Details: details(t, `{"anything": true}`)}); err != nil {
			t.Errorf("%s with details = any: Apply: %v", typ, err)
		}
	}
}

func TestCensor(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"", ""},
		{"a", "*"},
		{"abcd", "****"},
		{"abcde", "*****"},
		{"hunter2", "*******"},
		{"hunter2hunt", "***********"},   // 11: too short to keep anything
		{"hunter2hunte", "********unte"}, // 12: the last 4 stay
		{"sk-live-1234567890E4YO", "******************E4YO"},
		{"********E4YO", "********E4YO"},
		{"****ter2", "********"},
		{"héllo wörld", "***********"},
		{"héllo wörlds", "********rlds"},
		{"ÿÿÿÿÿÿÿÿÿéèêë", "*********éèêë"},
	}
	for _, tt := range tests {
		if got := Censor(tt.in); got != tt.want {
			t.Errorf("Censor(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

const sensitiveConfig = `
schemas { detect_secrets = false }
schema "svc" {
  details = object({
    name  = string
    creds = object({ token = string, pin = optional(number) })
    keys  = optional(list(object({ id = string, secret_value = string })))
    env   = optional(map(string))
    blob  = optional(any)
  })
  sensitive = ["creds.token", "creds.pin", "keys.secret_value", "env.DB_PASS", "blob"]
}
`

const sensitiveDetails = `{
	"name": "svc-1",
	"creds": {"token": "tok-0123456789abcdef", "pin": 1234567},
	"keys": [{"id": "k1", "secret_value": "abc"}, {"id": "k2", "secret_value": "s3cr3t-value"}],
	"env": {"DB_PASS": "hunter22", "HOME": "/root"},
	"blob": {"a": "nested-secret", "b": [true, "xyz"]}
}`

func TestCatalog_SensitiveCensor(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, sensitiveConfig)
	e := &event.Event{Name: "svc", Type: "create", Details: details(t, sensitiveDetails)}
	if err := c.Apply(e); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	want := details(t, `{
		"name": "svc-1",
		"creds": {"token": "****************cdef", "pin": "*******"},
		"keys": [{"id": "k1", "secret_value": "***"}, {"id": "k2", "secret_value": "********alue"}],
		"env": {"DB_PASS": "********", "HOME": "/root"},
		"blob": {"a": "*********cret", "b": [true, "***"]}
	}`)
	if diff := cmp.Diff(want, e.Details); diff != "" {
		t.Errorf("Details (-want +got):\n%s", diff)
	}
	if n := c.Redacted(); n != 0 {
		t.Errorf("Redacted() = %d, want 0 (sensitive paths are not detections)", n)
	}
}

func TestCatalog_SensitiveOnInvalid(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, sensitiveConfig)
	// name is missing, but the token is still censored.
	e := &event.Event{Name: "svc", Type: "create", Details: details(t, `{"creds": {"token": "tok-0123456789abcdef"}}`)}
	if err := c.Apply(e); err == nil {
		t.Fatal("Apply: want error for missing name")
	}
	got := e.Details["creds"].(map[string]any)["token"]
	if got != "****************cdef" {
		t.Errorf("token = %q, want censored", got)
	}
}

func TestCatalog_HMAC(t *testing.T) {
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "hmac.key")
	if err := os.WriteFile(keyFile, []byte("k3y-material\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := `
schemas { hmac_key_file = "` + keyFile + `" }
schema "acct" {
  details   = object({ email = string, uid = number })
  sensitive = ["email"]
  redact    = "hmac"
}
`
	mac := hmac.New(sha256.New, []byte("k3y-material"))
	mac.Write([]byte("ada@example.com"))
	want := hex.EncodeToString(mac.Sum(nil))

	c1, c2 := mustLoad(t, cfg), mustLoad(t, cfg)
	for i, c := range []*Catalog{c1, c1, c2} {
		e := &event.Event{Name: "acct", Type: "update", Details: details(t, `{"email": "ada@example.com", "uid": 3}`)}
		if err := c.Apply(e); err != nil {
			t.Fatalf("Apply: %v", err)
		}
		if got := e.Details["email"]; got != want {
			t.Errorf("call %d: email = %q, want %q", i, got, want)
		}
	}
}

func TestCatalog_HMACEnv(t *testing.T) {
	t.Setenv("AUDITSHIP_TEST_HMAC_KEY", "env-key")
	c := mustLoad(t, `
schemas { hmac_key_env = "AUDITSHIP_TEST_HMAC_KEY" }
schema "acct" {
  details   = object({ email = string })
  sensitive = ["email"]
  redact    = "hmac"
}
`)
	e := &event.Event{Name: "acct", Type: "update", Details: details(t, `{"email": "x@example.com"}`)}
	if err := c.Apply(e); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	mac := hmac.New(sha256.New, []byte("env-key"))
	mac.Write([]byte("x@example.com"))
	if got, want := e.Details["email"], hex.EncodeToString(mac.Sum(nil)); got != want {
		t.Errorf("email = %q, want %q", got, want)
	}
}

func TestCatalog_DetectSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   any
		want any
		hits int64
	}{
		{name: "bearer", in: "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig", want: "Authorization: Bearer " + strings.Repeat("*", len("eyJhbGciOiJIUzI1NiJ9.payload.sig")-4) + ".sig", hits: 1},
		{name: "bearer lowercase", in: "bearer abcdefgh12345678", want: "bearer ************5678", hits: 1},
		{name: "aws key id", in: "using AKIAIOSFODNN7EXAMPLE for s3", want: "using ****************MPLE for s3", hits: 1},
		{name: "github token", in: "ghp_" + strings.Repeat("a", 32) + "WXYZ", want: strings.Repeat("*", 36) + "WXYZ", hits: 1},
		{name: "github pat", in: "github_pat_" + strings.Repeat("B", 22) + "_wxyz", want: strings.Repeat("*", 34) + "wxyz", hits: 1},
		{name: "slack token", in: "xoxb-1234567890-abcdefABCDEF", want: "************************CDEF", hits: 1},
		{name: "password assignment", in: "postgres://db?user=app&password=hunter2secret", want: "postgres://db?user=app&password=*********cret", hits: 1},
		{name: "quoted password", in: `secret: "tops3cretvalue"`, want: `secret: "**********alue"`, hits: 1},
		{
			name: "pem private key",
			in:   "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nabcdWXYZ\n-----END RSA PRIVATE KEY-----",
			want: "-----BEGIN RSA PRIVATE KEY-----\n**********************WXYZ\n-----END RSA PRIVATE KEY-----",
			hits: 1,
		},
		{name: "two secrets", in: "AKIAIOSFODNN7EXAMPLE and AKIAIOSFODNN7EXAMPLF", want: "****************MPLE and ****************MPLF", hits: 2},
		{name: "secret attribute name", in: map[string]any{"password": "pw", "Token": "abcdefgh"}, want: map[string]any{"password": "**", "Token": "********"}, hits: 2},
		{name: "short password", in: "login password=hunter2 ok", want: "login password=******* ok", hits: 1},
		{name: "short value starting with asterisk", in: "password=*abc", want: "password=****", hits: 1},
		{name: "short secret attribute starting with asterisk", in: map[string]any{"token": "*k9Z"}, want: map[string]any{"token": "****"}, hits: 1},
		{name: "nested list", in: []any{"ok", map[string]any{"h": "Bearer 0123456789abcdef"}}, want: []any{"ok", map[string]any{"h": "Bearer ************cdef"}}, hits: 1},
		// Non-hits.
		{name: "plain text", in: "dataset uploaded by ada", want: "dataset uploaded by ada"},
		{name: "bearer word", in: "the bearer of news", want: "the bearer of news"},
		{name: "short akia", in: "AKIA1234", want: "AKIA1234"},
		{name: "lowercase akia", in: "akiaiosfodnn7example", want: "akiaiosfodnn7example"},
		{name: "key name mention", in: "rotated key_name=prod-ci", want: "rotated key_name=prod-ci"},
		{name: "password word", in: "password reset requested", want: "password reset requested"},
		{name: "already censored", in: "password=********cret", want: "password=********cret"},
		{name: "censored_key attribute", in: map[string]any{"censored_key": "****E4YO"}, want: map[string]any{"censored_key": "****E4YO"}},
		{name: "address with port", in: "10.0.0.12:53412", want: "10.0.0.12:53412"},
		{name: "secret-named number", in: map[string]any{"token": json.Number("12")}, want: map[string]any{"token": "**"}, hits: 1},
		{name: "secret-named bool", in: map[string]any{"secret": true}, want: map[string]any{"secret": true}},
		{name: "prefixed assignment", in: "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", want: "aws_secret_access_key=************************************EKEY", hits: 1},
		{name: "url password", in: "postgres://app:s3cr3tpass@db.internal:5432/x", want: "postgres://app:**********@db.internal:5432/x", hits: 1},
		{name: "basic auth", in: "Authorization: Basic dXNlcjpwYXNz", want: "Authorization: Basic ********YXNz", hits: 1},
		{name: "prefixed secret attribute name", in: map[string]any{"aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG", "db_password": "pw"}, want: map[string]any{"aws_secret_access_key": "*****************DENG", "db_password": "**"}, hits: 2},
		{name: "url without password", in: "https://ada@example.com/x", want: "https://ada@example.com/x"},
		{name: "basic plan", in: "basic plan: 5 seats", want: "basic plan: 5 seats"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustLoad(t, `schemas { unknown_event_name = "accept" }`)
			e := &event.Event{Name: "free", Type: "x", Details: map[string]any{"v": tt.in}}
			if err := c.Apply(e); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if diff := cmp.Diff(tt.want, e.Details["v"]); diff != "" {
				t.Errorf("value (-want +got):\n%s", diff)
			}
			if got := c.Redacted(); got != tt.hits {
				t.Errorf("Redacted() = %d, want %d", got, tt.hits)
			}
		})
	}
}

func TestCatalog_DetectSecretsOff(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, `schemas {
  unknown_event_name = "accept"
  detect_secrets     = false
}`)
	e := &event.Event{Name: "free", Type: "x", Details: map[string]any{"v": "Bearer 0123456789abcdef"}}
	if err := c.Apply(e); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := e.Details["v"]; got != "Bearer 0123456789abcdef" {
		t.Errorf("value = %q, want unchanged", got)
	}
}

func TestCatalog_Concurrent(t *testing.T) {
	t.Parallel()
	c := mustLoad(t, sensitiveConfig+`schema "free" { details = any }`)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				e := &event.Event{Name: "svc", Type: "create", Details: details(t, sensitiveDetails)}
				if err := c.Apply(e); err != nil {
					t.Errorf("Apply: %v", err)
					return
				}
				e = &event.Event{Name: "free", Type: "x", Details: map[string]any{"v": "Bearer 0123456789abcdef"}}
				if err := c.Apply(e); err != nil {
					t.Errorf("Apply: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := c.Redacted(); got != 0 {
		t.Errorf("Redacted() = %d, want 0 with detect_secrets = false", got)
	}
}

func TestBuiltin(t *testing.T) {
	t.Parallel()
	c, diags := New(DefaultSettings(), nil)
	if diags.HasErrors() {
		t.Fatalf("New: %s", diags.Error())
	}
	for _, a := range builtinActions {
		if !c.Covers(a.name, a.typ) {
			t.Errorf("builtin catalog does not cover (%s, %s)", a.name, a.typ)
		}
	}
	if got, want := len(builtinPairs()), len(builtinActions); got != want {
		t.Errorf("builtin.hcl declares %d (event_name, event_type) pairs, the reference list has %d: %v", got, want, builtinPairs())
	}
}

// builtinActions lists every auditable action of the reference, plus the
// audit_log reads recorded by auditship.
var builtinActions = []struct{ name, typ string }{
	{"annotation", "create"}, {"annotation", "commit"}, {"annotation", "transfer"}, {"annotation", "delete"},
	{"application", "create"}, {"application", "update"}, {"application", "delete"},
	{"batch", "create"}, {"batch", "update"}, {"batch", "delete"},
	{"training_set", "create"}, {"training_set", "update"}, {"training_set", "delete"},
	{"dataset", "create"}, {"dataset", "delete"},
	{"datasource", "create"}, {"datasource", "delete"},
	{"lf", "create"}, {"lf", "delete"},
	{"user", "create"}, {"user", "update"}, {"user", "delete"},
	{"user_role", "assign"}, {"user_role", "remove"}, {"user_role", "create"},
	{"api_key", "create"}, {"api_key", "delete"},
	{"login", "login"},
	{"workspace", "create"}, {"workspace", "update"},
	{"external_llm_config", "create"},
	{"custom_pip_install", "install"},
	{"audit_log", "read"},
}

// builtinPairs lists the (event_name, event_type) pairs of builtin.hcl.
func builtinPairs() []string {
	var out []string
	for _, b := range Builtin() {
		for _, t := range b.EventTypes {
			out = append(out, b.Name+"/"+t)
		}
	}
	return out
}
