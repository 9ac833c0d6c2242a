// Package testes holds test-only helpers for code that talks to
// Elasticsearch: the URL of the test server (or of the cluster in
// ELASTICSEARCH_URL), unique index prefixes that are deleted after the
// test, and [FaultProxy], a reverse proxy that injects faults into bulk
// requests.
//
// The test server is ZincSearch, which speaks the Elasticsearch API under
// /es/; scripts/testserver/{build,start,stop}.sh install and run it (make
// testserver-start). A missing server fails the test: nothing is skipped.
package testes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// DefaultURL is where scripts/testserver/start.sh serves by default.
const DefaultURL = "http://admin:auditship-test@127.0.0.1:4080/es"

var reachable sync.Map // URL → true once it answered

// URL returns ELASTICSEARCH_URL, or [DefaultURL] when unset: a base URL
// with the credentials as userinfo. It fails the test when nothing answers
// GET / there, saying how to start the test server.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("ELASTICSEARCH_URL")
	if u == "" {
		u = DefaultURL
	}
	u = strings.TrimRight(u, "/")
	if _, ok := reachable.Load(u); ok {
		return u
	}
	res, err := Do(t, http.MethodGet, u+"/", nil)
	if err != nil {
		t.Fatalf("no Elasticsearch-API server answers at %s: %v; run make testserver-start (or set ELASTICSEARCH_URL)", Redact(u), err)
	}
	if res.Status >= 300 {
		t.Fatalf("the Elasticsearch-API server at %s answered GET / with HTTP %d: %s; run make testserver-start (or set ELASTICSEARCH_URL with valid credentials)", Redact(u), res.Status, res.Body)
	}
	reachable.Store(u, true)
	return u
}

// Redact hides the password in a URL.
func Redact(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}

// Credentials splits a URL with userinfo into the URL without it, the
// user and the password.
func Credentials(t testing.TB, u string) (base, user, password string) {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatalf("parse %s: %v", Redact(u), err)
	}
	if p.User != nil {
		user = p.User.Username()
		password, _ = p.User.Password()
	}
	p.User = nil
	return p.String(), user, password
}

// PasswordFile writes password to a file in a temporary directory of t
// and returns its path, for configs that read secrets from files.
func PasswordFile(t testing.TB, password string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(p, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Response is a whole HTTP answer.
type Response struct {
	Status int
	Body   []byte
}

// Do sends one request (userinfo in u becomes basic auth) with a 10 s
// timeout and reads the answer. body, when not nil, is sent as JSON.
func Do(t testing.TB, method, u string, body []byte) (Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p, err := url.Parse(u)
	if err != nil {
		return Response{}, err
	}
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(string(body))
	}
	user := p.User
	p.User = nil
	req, err := http.NewRequestWithContext(ctx, method, p.String(), rd)
	if err != nil {
		return Response{}, err
	}
	if user != nil {
		pw, _ := user.Password()
		req.SetBasicAuth(user.Username(), pw)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Close = true // no idle connection left behind for goleak to see
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return Response{Status: res.StatusCode, Body: b}, err
}

// IndexPrefix returns an index prefix unique to this test and run, derived
// from t.Name() (lowercased, other characters as '-'), and registers a
// cleanup that deletes the indexes "<prefix>-*", the index template and the
// alias named prefix on the server at base.
func IndexPrefix(t testing.TB, base string) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("t-")
	for _, r := range strings.ToLower(t.Name()) {
		if ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
		if b.Len() >= 60 {
			break
		}
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	b.WriteString("-" + hex.EncodeToString(rnd[:]))
	prefix := b.String()
	t.Cleanup(func() { DeleteIndexes(t, base, prefix) })
	return prefix
}

// DeleteIndexes deletes the indexes "<prefix>-*" and the index template
// named prefix. It uses the Elasticsearch API and falls back to
// ZincSearch's own API (which has no Elasticsearch index deletion route).
// Failures are reported with t.Errorf.
func DeleteIndexes(t testing.TB, base, prefix string) {
	t.Helper()
	_, _ = Do(t, http.MethodDelete, base+"/_index_template/"+prefix, nil)
	res, err := Do(t, http.MethodDelete, base+"/"+prefix+"-*", nil)
	if err == nil && res.Status < 300 {
		return
	}
	// ZincSearch: list the index names under its native API and delete each.
	root := strings.TrimSuffix(base, "/es")
	res, err = Do(t, http.MethodGet, root+"/api/index_name?name="+url.QueryEscape(prefix), nil)
	if err != nil || res.Status >= 300 {
		t.Errorf("clean up indexes %s-*: list: %v %d %s", prefix, err, res.Status, res.Body)
		return
	}
	var names []string
	if err := json.Unmarshal(res.Body, &names); err != nil {
		t.Errorf("clean up indexes %s-*: decode list %s: %v", prefix, res.Body, err)
		return
	}
	for _, n := range names {
		if !strings.HasPrefix(n, prefix+"-") {
			continue
		}
		res, err := Do(t, http.MethodDelete, root+"/api/index/"+n, nil)
		if err != nil || res.Status >= 300 {
			t.Errorf("clean up index %s: %v %d %s", n, err, res.Status, res.Body)
		}
	}
}

// Poll calls f every 50 ms until it returns nil or timeout passes, then
// fails the test with f's last error.
func Poll(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %s: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
