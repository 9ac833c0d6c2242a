package query

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/auditship/auditship/event"
)

// loadSpec parses and validates the embedded OpenAPI document.
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(OpenAPI)
	if err != nil {
		t.Fatalf("load openapi.json: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI 3 document: %v", err)
	}
	return doc
}

// bearerOnly is the spec's bearer scheme as openapi3filter checks it: an
// Authorization header with a Bearer token. Whether the key is right is the
// server's business.
func bearerOnly(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	if in.SecuritySchemeName != "bearerAuth" {
		return errors.New("unknown security scheme " + in.SecuritySchemeName)
	}
	scheme, token, ok := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return errors.New("no bearer token")
	}
	return nil
}

// exchange is one real request and its answer, checked against the spec.
type exchange struct {
	reqErr  error // ValidateRequest's verdict
	respErr error // ValidateResponse's verdict
	status  int
	header  http.Header
	body    []byte
}

// validated sends GET path with key over real HTTP to env and validates
// both the request and the response against doc.
func validated(t *testing.T, doc *openapi3.T, env *testEnv, path, key string) exchange {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, env.url+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	pi := doc.Paths.Find(req.URL.Path)
	if pi == nil || pi.GetOperation(req.Method) == nil {
		t.Fatalf("openapi.json has no operation for %s %s", req.Method, req.URL.Path)
	}
	opts := &openapi3filter.Options{AuthenticationFunc: bearerOnly, IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.RequestValidationInput{
		Request: req,
		Route: &routers.Route{
			Spec: doc, Path: req.URL.Path, PathItem: pi, Method: req.Method, Operation: pi.GetOperation(req.Method),
		},
		Options: opts,
	}
	var x exchange
	x.reqErr = openapi3filter.ValidateRequest(t.Context(), in)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if x.body, err = io.ReadAll(resp.Body); err != nil {
		t.Fatal(err)
	}
	x.status, x.header = resp.StatusCode, resp.Header
	x.respErr = openapi3filter.ValidateResponse(t.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(x.body)),
		Options:                opts,
	})
	return x
}

func TestOpenAPI_Document(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	op := doc.Paths.Find("/audit-logs").Get
	var names []string
	for _, p := range op.Parameters {
		names = append(names, p.Value.Name)
	}
	if got, want := strings.Join(names, ","), "limit,start_time,end_time,event_name,event_type,user_uid,order,cursor"; got != want {
		t.Errorf("parameters %s, want %s", got, want)
	}
	for k := range known {
		if op.Parameters.GetByInAndName("query", k) == nil {
			t.Errorf("parameter %s is accepted by the server but not documented", k)
		}
	}
	for _, code := range []string{"200", "400", "401", "403", "429", "503"} {
		if op.Responses.Value(code) == nil {
			t.Errorf("response %s is not documented", code)
		}
	}
	ev := doc.Components.Schemas["AuditEvent"].Value
	if ev.AdditionalProperties.Has == nil || *ev.AdditionalProperties.Has {
		t.Error("AuditEvent allows additional properties")
	}
	if len(ev.Properties) != 6 || len(ev.Required) != 6 {
		t.Errorf("AuditEvent has %d properties, %d required; want exactly 6", len(ev.Properties), len(ev.Required))
	}
	if p := ev.Properties["event_time"].Value.Pattern; p != `^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$` {
		t.Errorf("event_time pattern %q", p)
	}
	if !regexp.MustCompile(ev.Properties["event_time"].Value.Pattern).MatchString(event.FormatTime(time.Now())) {
		t.Error("event.FormatTime does not match the event_time pattern")
	}
	if s := doc.Components.SecuritySchemes["bearerAuth"].Value; s.Type != "http" || s.Scheme != "bearer" {
		t.Errorf("security scheme %+v, want http bearer", s)
	}
}

func TestOpenAPI_Served(t *testing.T) {
	t.Parallel()
	env := newEnv(t, testHCL, Options{SuperadminKey: rootKey})
	doc := loadSpec(t)
	x := validated(t, doc, env, "/openapi.json", "")
	if x.status != 200 || x.reqErr != nil || x.respErr != nil {
		t.Fatalf("GET /openapi.json: %d, request %v, response %v", x.status, x.reqErr, x.respErr)
	}
	if !bytes.Equal(x.body, OpenAPI) {
		t.Error("GET /openapi.json does not serve the embedded document")
	}
	if x := validated(t, doc, env, "/healthz", ""); x.status != 200 || x.reqErr != nil || x.respErr != nil {
		t.Errorf("GET /healthz: %d, request %v, response %v", x.status, x.reqErr, x.respErr)
	}
}

// TestOpenAPI_Responses checks real answers of the real server, over real
// HTTP and a real store, against openapi.json.
func TestOpenAPI_Responses(t *testing.T) {
	t.Parallel()
	doc := loadSpec(t)
	env := newEnv(t, testHCL, Options{SuperadminKey: rootKey})
	evs := makeEvents(1, 40)
	evs[3].Details = map[string]any{"nested": map[string]any{"list": []any{"a", true, nil}}, "big": "9007199254740993"}
	evs[4].Details = nil
	evs[5].Time = time.Date(2021, 8, 17, 20, 51, 47, 0, time.UTC) // whole second: still six digits
	if err := env.store.Write(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	_, h, _ := env.get(t, "/audit-logs?limit=3", rootKey)
	cursor := h.Get("X-Next-Cursor")
	at := url.QueryEscape(evs[10].Time.In(time.FixedZone("", -5*3600)).Format(time.RFC3339Nano))

	tests := []struct {
		name      string
		path, key string
		status    int
		badReq    bool // the request itself breaks the spec
		wantNext  bool
	}{
		{"default", "/audit-logs", rootKey, 200, false, false},
		{"full page", "/audit-logs?limit=5", opsKey, 200, false, true},
		{"empty", "/audit-logs?event_name=nothing", rootKey, 200, false, false},
		{"filters", "/audit-logs?event_name=user&event_name=api_key&event_type=create&user_uid=0&user_uid=3&order=asc", rootKey, 200, false, false},
		{"time range naive", "/audit-logs?start_time=" + event.FormatTime(evs[2].Time) + "&end_time=2021-08-18&limit=10000", rootKey, 200, false, false},
		{"time with offset", "/audit-logs?start_time=" + at + "&order=asc&limit=2", rootKey, 200, false, true},
		{"cursor", "/audit-logs?limit=3&cursor=" + cursor, rootKey, 200, false, true},
		{"limit zero", "/audit-logs?limit=0", rootKey, 400, true, false},
		{"limit too big", "/audit-logs?limit=10001", rootKey, 400, true, false},
		{"bad order", "/audit-logs?order=sideways", rootKey, 400, true, false},
		{"bad user_uid", "/audit-logs?user_uid=x", rootKey, 400, true, false},
		{"bad time", "/audit-logs?start_time=yesterday", rootKey, 400, true, false},
		{"tampered cursor", "/audit-logs?cursor=" + cursor[:len(cursor)-2] + "AA", rootKey, 400, false, false},
		{"start after end", "/audit-logs?start_time=2021-08-18&end_time=2021-08-17", rootKey, 400, false, false},
		{"no key", "/audit-logs", "", 401, true, false},
		{"wrong key", "/audit-logs", "wrong", 401, false, false},
		{"viewer", "/audit-logs", viewerKey, 403, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := validated(t, doc, env, tt.path, tt.key)
			if x.status != tt.status {
				t.Fatalf("status %d, want %d; body %s", x.status, tt.status, x.body)
			}
			if x.respErr != nil {
				t.Errorf("response does not conform to openapi.json: %v\nheaders %v\nbody %s", x.respErr, x.header, x.body)
			}
			if tt.badReq != (x.reqErr != nil) {
				t.Errorf("ValidateRequest = %v; want an error: %v", x.reqErr, tt.badReq)
			}
			if got := x.header.Get("X-Next-Cursor") != ""; got != tt.wantNext {
				t.Errorf("X-Next-Cursor present: %v, want %v", got, tt.wantNext)
			}
		})
	}

	t.Run("rate limited", func(t *testing.T) {
		t.Parallel()
		env := newEnv(t, testHCL+"rate_limit = 0.01\nrate_burst = 1\n", Options{SuperadminKey: rootKey})
		if x := validated(t, doc, env, "/audit-logs", rootKey); x.status != 200 || x.respErr != nil {
			t.Fatalf("first request: %d %v", x.status, x.respErr)
		}
		x := validated(t, doc, env, "/audit-logs", rootKey)
		if x.status != 429 || x.reqErr != nil || x.respErr != nil {
			t.Errorf("second request: %d, request %v, response %v; body %s", x.status, x.reqErr, x.respErr, x.body)
		}
	})
	t.Run("unavailable", func(t *testing.T) {
		t.Parallel()
		env := newEnv(t, testHCL, Options{SuperadminKey: rootKey})
		if err := env.store.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		x := validated(t, doc, env, "/audit-logs", rootKey)
		if x.status != 503 || x.reqErr != nil || x.respErr != nil {
			t.Errorf("closed store: %d, request %v, response %v; body %s", x.status, x.reqErr, x.respErr, x.body)
		}
	})
	t.Run("spec rejects a seventh field", func(t *testing.T) {
		// The validator must be able to fail: a response with an extra field
		// or a zoned event_time does not conform.
		for _, body := range []string{
			`[{"event_id":1,"event_time":"2021-08-17T20:51:47.268843","event_name":"a","event_type":"b","event_details":{},"user_uid":1,"source":"x"}]`,
			`[{"event_id":1,"event_time":"2021-08-17T20:51:47.268843Z","event_name":"a","event_type":"b","event_details":{},"user_uid":1}]`,
			`[{"event_id":1,"event_time":"2021-08-17T20:51:47.268843","event_name":"a","event_type":"b","user_uid":1}]`,
		} {
			req, _ := http.NewRequest(http.MethodGet, env.url+"/audit-logs", nil)
			req.Header.Set("Authorization", "Bearer x")
			pi := doc.Paths.Find("/audit-logs")
			in := &openapi3filter.RequestValidationInput{
				Request: req,
				Route:   &routers.Route{Spec: doc, Path: "/audit-logs", PathItem: pi, Method: "GET", Operation: pi.Get},
				Options: &openapi3filter.Options{AuthenticationFunc: bearerOnly},
			}
			err := openapi3filter.ValidateResponse(t.Context(), &openapi3filter.ResponseValidationInput{
				RequestValidationInput: in, Status: 200,
				Header: http.Header{"Content-Type": {"application/json"}},
				Body:   io.NopCloser(strings.NewReader(body)),
			})
			if err == nil {
				t.Errorf("body %s validated, want an error", body)
			}
		}
	})
}
