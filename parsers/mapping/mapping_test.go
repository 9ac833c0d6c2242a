package mapping

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/parsers"
)

// decodeBlock parses body as the inside of a mapping block and decodes it
// as the config loader does.
func decodeBlock(t testing.TB, filename string, src []byte) (Block, map[string]*hcl.File, hcl.Diagnostics) {
	t.Helper()
	f, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	files := map[string]*hcl.File{filename: f}
	if diags.HasErrors() {
		return Block{}, files, diags
	}
	var root struct {
		Mapping Block `hcl:"mapping,block"`
	}
	diags = append(diags, gohcl.DecodeBody(f.Body, nil, &root)...)
	return root.Mapping, files, diags
}

// compile compiles a mapping block with the given body; it fails the test on
// any diagnostic.
func compile(t testing.TB, body string) *Mapping {
	t.Helper()
	b, _, diags := decodeBlock(t, "test.hcl", []byte("mapping {\n"+body+"\n}\n"))
	if diags.HasErrors() {
		t.Fatalf("decode: %s", diags)
	}
	m, diags := Compile(b)
	if len(diags) > 0 {
		t.Fatalf("compile: %s", diags)
	}
	return m
}

// record decodes a JSON line as the jsonl decoder does: numbers as
// json.Number.
func record(t testing.TB, line string) parsers.Record {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var r parsers.Record
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decode record %s: %v", line, err)
	}
	return r
}

var testSrc = event.Position{Input: "platform", Path: "/var/log/p/audit.log", FileID: "1:2:abc", Origin: 42, Offset: 100, End: 180}

const plainMapping = `
  event_id      = record.audit.event_id
  event_time    = record.ts
  event_name    = record.audit.resource
  event_type    = record.audit.action
  event_details = record.audit.details
  user_uid      = record.audit.user_uid
  timezone      = "UTC"
`

// generalMapping reads the same fields as plainMapping through general
// expressions (try() with one argument returns its argument).
const generalMapping = `
  event_id      = try(record.audit.event_id)
  event_time    = try(record.ts)
  event_name    = try(record.audit.resource)
  event_type    = try(record.audit.action)
  event_details = try(record.audit.details)
  user_uid      = try(record.audit.user_uid)
  timezone      = "UTC"
`

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

func TestMap(t *testing.T) {
	t.Parallel()
	const std = `
  event_time    = record.ts
  event_name    = record.audit.resource
  event_type    = lower(record.audit.action)
  event_details = record.audit.details
  user_uid      = record.audit.user_uid
  timezone      = "UTC"
`
	const line = `{"ts":"2024-07-12T13:33:01.5Z","msg":"audit","audit":{"resource":"api_key","action":"CREATE","details":{"key_id":"k1","n":2882429806056571124},"user_uid":7}}`
	tests := []struct {
		name    string
		mapping string
		line    string
		want    event.Event
		wantErr string // exact error text; empty: no error
		skip    bool   // want an error wrapping parsers.ErrSkip
	}{
		{
			name:    "all fields",
			mapping: std,
			line:    line,
			want: event.Event{
				ID: event.DeriveID(testSrc.Origin, testSrc.Offset, []byte(line)), Time: ts("2024-07-12T13:33:01.5Z"),
				Name: "api_key", Type: "create", UserUID: 7, Source: testSrc,
				Details: map[string]any{"key_id": "k1", "n": json.Number("2882429806056571124")},
			},
		},
		{
			name:    "event_id from record",
			mapping: std + `event_id = record.id`,
			line:    `{"id":2882429806056571124,"ts":1700000000,"audit":{"resource":"user","action":"login","user_uid":"9007199254740993"}}`,
			want: event.Event{ID: 2882429806056571124, Time: time.Unix(1700000000, 0).UTC(), Name: "user", Type: "login",
				Details: map[string]any{}, UserUID: 9007199254740993, Source: testSrc},
		},
		{
			name:    "event_id as string",
			mapping: std + `event_id = record.id`,
			line:    `{"id":"9007199254740993","ts":1700000000,"audit":{"resource":"user","action":"login","user_uid":1}}`,
			want: event.Event{ID: 9007199254740993, Time: time.Unix(1700000000, 0).UTC(), Name: "user", Type: "login",
				Details: map[string]any{}, UserUID: 1, Source: testSrc},
		},
		{
			name:    "event_id null is derived",
			mapping: std + `event_id = record.id`,
			line:    `{"id":null,"ts":1700000000,"audit":{"resource":"user","action":"login","user_uid":1}}`,
			want: event.Event{ID: event.DeriveID(testSrc.Origin, testSrc.Offset, []byte(`{"id":null,"ts":1700000000,"audit":{"resource":"user","action":"login","user_uid":1}}`)),
				Time: time.Unix(1700000000, 0).UTC(), Name: "user", Type: "login", Details: map[string]any{}, UserUID: 1, Source: testSrc},
		},
		{
			name:    "event_id zero",
			mapping: std + `event_id = record.id`,
			line:    `{"id":0,"ts":1700000000,"audit":{"resource":"user","action":"login","user_uid":1}}`,
			wantErr: "event_id: 0 is not positive",
		},
		{
			name:    "event_id fraction",
			mapping: std + `event_id = record.id`,
			line:    `{"id":1.5,"ts":1700000000,"audit":{"resource":"user","action":"login","user_uid":1}}`,
			wantErr: "event_id: 1.5 is not an integer",
		},
		{
			name:    "user_uid big exact",
			mapping: std,
			line:    `{"ts":1700000000,"audit":{"resource":"user","action":"login","user_uid":2882429806056571124}}`,
			want: event.Event{ID: event.DeriveID(42, 100, []byte(`{"ts":1700000000,"audit":{"resource":"user","action":"login","user_uid":2882429806056571124}}`)),
				Time: time.Unix(1700000000, 0).UTC(), Name: "user", Type: "login", Details: map[string]any{}, UserUID: 2882429806056571124, Source: testSrc},
		},
		{
			name:    "user_uid 2^53+1 through general expression",
			mapping: strings.Replace(std, "user_uid      = record.audit.user_uid", "user_uid = tonumber(record.audit.user_uid)", 1),
			line:    `{"ts":1700000000,"audit":{"resource":"user","action":"login","user_uid":"9007199254740993"}}`,
			want: event.Event{ID: event.DeriveID(42, 100, []byte(`{"ts":1700000000,"audit":{"resource":"user","action":"login","user_uid":"9007199254740993"}}`)),
				Time: time.Unix(1700000000, 0).UTC(), Name: "user", Type: "login", Details: map[string]any{}, UserUID: 9007199254740993, Source: testSrc},
		},
		{
			name:    "user_uid not an integer",
			mapping: std,
			line:    `{"ts":1700000000,"audit":{"resource":"user","action":"login","user_uid":"abc"}}`,
			wantErr: `user_uid: "abc" is not an integer`,
		},
		{
			name:    "user_uid out of range",
			mapping: std,
			line:    `{"ts":1700000000,"audit":{"resource":"user","action":"login","user_uid":9223372036854775808}}`,
			wantErr: `user_uid: 9223372036854775808 is out of range for a 64-bit integer`,
		},
		{
			name:    "user_uid bool",
			mapping: std,
			line:    `{"ts":1700000000,"audit":{"resource":"user","action":"login","user_uid":true}}`,
			wantErr: `user_uid: true is not an integer`,
		},
		{
			name:    "user_uid missing",
			mapping: std,
			line:    `{"ts":1700000000,"audit":{"resource":"user","action":"login"}}`,
			wantErr: `user_uid: record.audit.user_uid is missing`,
		},
		{
			name:    "event_time missing",
			mapping: std,
			line:    `{"audit":{"resource":"user","action":"login","user_uid":1}}`,
			wantErr: `event_time: record.ts is missing`,
		},
		{
			name:    "event_time unparsable",
			mapping: std,
			line:    `{"ts":"yesterday","audit":{"resource":"user","action":"login","user_uid":1}}`,
			wantErr: `event_time: "yesterday" is not a time: want RFC 3339, an ISO date and time or an epoch number`,
		},
		{
			name:    "naive time without timezone",
			mapping: strings.Replace(std, `timezone      = "UTC"`, "", 1),
			line:    `{"ts":"2024-07-12 13:33:01","audit":{"resource":"user","action":"login","user_uid":1}}`,
			wantErr: `event_time: "2024-07-12 13:33:01" has no zone; set timezone in the mapping`,
		},
		{
			name:    "event_name empty",
			mapping: std,
			line:    `{"ts":1700000000,"audit":{"resource":"","action":"login","user_uid":1}}`,
			wantErr: `event_name: must be a non-empty string`,
		},
		{
			name:    "event_name number",
			mapping: std,
			line:    `{"ts":1700000000,"audit":{"resource":5,"action":"login","user_uid":1}}`,
			wantErr: `event_name: must be a non-empty string`,
		},
		{
			name:    "event_type general expression on missing attribute",
			mapping: std,
			line:    `{"ts":1700000000,"audit":{"resource":"user","user_uid":1}}`,
			wantErr: `event_type: test.hcl:5,25-44: Invalid function argument; Invalid value for "str" parameter: argument must not be null.`,
		},
		{
			name:    "event_details not an object",
			mapping: std,
			line:    `{"ts":1700000000,"audit":{"resource":"user","action":"login","user_uid":1,"details":[1]}}`,
			wantErr: `event_details: must be an object, got a list`,
		},
		{
			name: "constants, input and path",
			mapping: `event_time = record.ts
event_name = "session"
event_type = upper("login")
user_uid = 0
event_details = { input = input, path = path, file = regex("[^/]+$", path), n = 1 + 1 }`,
			line: `{"ts":"2024-01-01T00:00:00Z"}`,
			want: event.Event{ID: event.DeriveID(42, 100, []byte(`{"ts":"2024-01-01T00:00:00Z"}`)), Time: ts("2024-01-01T00:00:00Z"),
				Name: "session", Type: "LOGIN", Source: testSrc,
				Details: map[string]any{"input": "platform", "path": "/var/log/p/audit.log", "file": "audit.log", "n": json.Number("2")}},
		},
		{
			name: "index and quoted keys",
			mapping: `event_time = record["@timestamp"]
event_name = record.items[1].name
event_type = record["a.b"]
user_uid = record.items[0]`,
			line: `{"@timestamp":"2024-01-01T00:00:00+02:00","a.b":"x","items":[5,{"name":"n"}]}`,
			want: event.Event{ID: event.DeriveID(42, 100, []byte(`{"@timestamp":"2024-01-01T00:00:00+02:00","a.b":"x","items":[5,{"name":"n"}]}`)),
				Time: ts("2023-12-31T22:00:00Z"), Name: "n", Type: "x", UserUID: 5, Details: map[string]any{}, Source: testSrc},
		},
		{
			name:    "path through a scalar is missing",
			mapping: std,
			line:    `{"ts":"2024-01-01T00:00:00Z","audit":"flat"}`,
			wantErr: `event_name: record.audit.resource is missing`,
		},
		{
			name:    "event_time object",
			mapping: std,
			line:    `{"ts":{"x":1}}`,
			wantErr: `event_time: an object is not a time`,
		},
		{
			name:    "general path rejects huge exponents",
			mapping: std,
			line:    `{"ts":1700000000,"audit":{"resource":"user","action":"login","user_uid":1,"x":1e99999999}}`,
			wantErr: `event_type: convert record: number 1e99999999: exponent out of range`,
		},
		{
			name:    "when true",
			mapping: std + `when = record.msg == "audit"`,
			line:    line,
			want: event.Event{
				ID: event.DeriveID(42, 100, []byte(line)), Time: ts("2024-07-12T13:33:01.5Z"),
				Name: "api_key", Type: "create", UserUID: 7, Source: testSrc,
				Details: map[string]any{"key_id": "k1", "n": json.Number("2882429806056571124")},
			},
		},
		{
			name:    "when false",
			mapping: std + `when = record.msg == "audit"`,
			line:    `{"msg":"request served"}`,
			skip:    true,
		},
		{
			name:    "when on missing attribute is false",
			mapping: std + `when = record.msg == "audit"`,
			line:    `{"level":"info"}`,
			skip:    true,
		},
		{
			name:    "when plain path null",
			mapping: std + `when = record.is_audit`,
			line:    `{"is_audit":null}`,
			skip:    true,
		},
		{
			name:    "when plain path missing",
			mapping: std + `when = record.is_audit`,
			line:    `{}`,
			skip:    true,
		},
		{
			name:    "when not a bool",
			mapping: std + `when = record.is_audit`,
			line:    `{"is_audit":"yes"}`,
			wantErr: `when: must be a bool, got "yes"`,
		},
		{
			name:    "when general not a bool",
			mapping: std + `when = lower(record.is_audit)`,
			line:    `{"is_audit":"YES"}`,
			wantErr: `when: must be a bool, got "yes"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := compile(t, tt.mapping)
			got, err := mapChecked(t, m, record(t, tt.line), []byte(tt.line), testSrc)
			switch {
			case tt.skip:
				if !errors.Is(err, parsers.ErrSkip) {
					t.Fatalf("Map() error = %v, want ErrSkip", err)
				}
				return
			case tt.wantErr != "":
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("Map() error = %v\nwant %s", err, tt.wantErr)
				}
				if errors.Is(err, parsers.ErrSkip) {
					t.Fatalf("Map() error %v wraps ErrSkip", err)
				}
				return
			case err != nil:
				t.Fatalf("Map() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Map() (-want +got):\n%s", diff)
			}
			if got.Time.Location() != time.UTC {
				t.Errorf("Time zone = %v, want UTC", got.Time.Location())
			}
		})
	}
}

// TestMap_PlainAndGeneralAgree checks that the plain-path fast path and the
// general path give the same event (or both an error) for the same data.
func TestMap_PlainAndGeneralAgree(t *testing.T) {
	t.Parallel()
	plain := compile(t, plainMapping)
	general := compile(t, generalMapping)
	if plain.needRecord {
		t.Fatal("plain mapping converts the record to cty")
	}
	if !general.needRecord {
		t.Fatal("general mapping does not convert the record")
	}
	tests := []struct {
		name    string
		line    string
		wantErr bool
	}{
		{name: "small numbers", line: `{"ts":"2024-07-12T13:33:01.123456789+02:00","audit":{"event_id":1,"resource":"user","action":"create","user_uid":2,"details":{"a":"b","n":3,"l":[1,"x",null,true],"o":{"p":{}}}}}`},
		{name: "big integers", line: `{"ts":1700000000123,"audit":{"event_id":2882429806056571124,"resource":"api_key","action":"delete","user_uid":9007199254740993,"details":{"big":2882429806056571124,"b53":9007199254740993,"neg":-9007199254740993}}}`},
		{name: "integer strings", line: `{"ts":"1700000000.123456","audit":{"event_id":"9007199254740993","resource":"x","action":"y","user_uid":"2882429806056571124"}}`},
		{name: "fraction in details", line: `{"ts":"2024-07-12 13:33:01","audit":{"resource":"x","action":"y","user_uid":1,"details":{"f":0.1,"e":1.5}}}`},
		{name: "no details no id", line: `{"ts":"2024-07-12T13:33:01Z","audit":{"resource":"x","action":"y","user_uid":1}}`},
		{name: "null details", line: `{"ts":"2024-07-12T13:33:01Z","audit":{"resource":"x","action":"y","user_uid":1,"details":null}}`},
		{name: "missing time", line: `{"audit":{"resource":"x","action":"y","user_uid":1}}`, wantErr: true},
		{name: "missing audit", line: `{"ts":"2024-07-12T13:33:01Z"}`, wantErr: true},
		{name: "details not object", line: `{"ts":"2024-07-12T13:33:01Z","audit":{"resource":"x","action":"y","user_uid":1,"details":"s"}}`, wantErr: true},
		{name: "huge exponent", line: `{"ts":"2024-07-12T13:33:01Z","audit":{"resource":"x","action":"y","user_uid":1e99999999}}`, wantErr: true},
		{name: "uid fraction", line: `{"ts":"2024-07-12T13:33:01Z","audit":{"resource":"x","action":"y","user_uid":1.5}}`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pe, perr := plain.Map(record(t, tt.line), []byte(tt.line), testSrc)
			ge, gerr := general.Map(record(t, tt.line), []byte(tt.line), testSrc)
			if (perr != nil) != tt.wantErr || (gerr != nil) != tt.wantErr {
				t.Fatalf("errors: plain %v, general %v; want error %v", perr, gerr, tt.wantErr)
			}
			if diff := cmp.Diff(pe, ge); diff != "" {
				t.Errorf("plain and general differ (-plain +general):\n%s", diff)
			}
		})
	}
}

func TestMap_DerivedIDStable(t *testing.T) {
	t.Parallel()
	m := compile(t, plainMapping)
	line := []byte(`{"ts":"2024-07-12T13:33:01Z","audit":{"resource":"x","action":"y","user_uid":1}}`)
	a, err := m.Map(record(t, string(line)), line, testSrc)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Map(record(t, string(line)), bytes.Clone(line), testSrc)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != b.ID || a.ID <= 0 {
		t.Errorf("ids %d and %d, want equal and positive", a.ID, b.ID)
	}
	moved := testSrc
	moved.Offset++
	c, err := m.Map(record(t, string(line)), line, moved)
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == a.ID {
		t.Errorf("id %d same at another offset", c.ID)
	}
}

// TestMap_Concurrent maps lines from several goroutines with one Mapping;
// run with -race.
func TestMap_Concurrent(t *testing.T) {
	t.Parallel()
	m := compile(t, generalMapping+"\nwhen = record.audit.resource != \"skip\"")
	done := make(chan error)
	for g := range 4 {
		go func() {
			for i := range 200 {
				line := fmt.Sprintf(`{"ts":%d,"audit":{"resource":"r","action":"a","user_uid":%d,"details":{"g":%d}}}`, 1700000000+i, i, g)
				ev, err := m.Map(record(t, line), []byte(line), testSrc)
				if err != nil {
					done <- err
					return
				}
				if ev.UserUID != int64(i) {
					done <- fmt.Errorf("user_uid %d, want %d", ev.UserUID, i)
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestFunctions(t *testing.T) {
	t.Parallel()
	want := []string{"can", "coalesce", "contains", "format", "join", "jsondecode", "jsonencode", "keys", "length", "lookup", "lower", "merge", "regex", "regex_replace", "regexreplace", "replace", "split", "substr", "tobool", "tonumber", "tostring", "trimspace", "try", "upper"}
	if diff := cmp.Diff(want, FunctionNames()); diff != "" {
		t.Errorf("FunctionNames() (-want +got):\n%s", diff)
	}
	tests := []struct {
		name string
		expr string
		want any
	}{
		{name: "can", expr: `can(record.o.missing.x)`, want: false},
		{name: "coalesce", expr: `coalesce(record.none, record.s)`, want: " Hello World "},
		{name: "contains", expr: `contains(record.l, "b")`, want: true},
		{name: "format", expr: `format("%s-%d", record.t, record.n)`, want: "x-2882429806056571124"},
		{name: "join", expr: `join(",", record.l)`, want: "a,b"},
		{name: "jsondecode", expr: `jsondecode(record.j).k`, want: json.Number("2882429806056571124")},
		{name: "jsonencode", expr: `jsonencode(record.o)`, want: `{"k":"v"}`},
		{name: "keys", expr: `keys(record.o)`, want: []any{"k"}},
		{name: "length of list", expr: `length(record.l)`, want: json.Number("2")},
		{name: "length of string", expr: `length(record.t)`, want: json.Number("1")},
		{name: "length of object", expr: `length(record.o)`, want: json.Number("1")},
		{name: "lookup", expr: `lookup(record.o, "nope", "dflt")`, want: "dflt"},
		{name: "lower", expr: `lower(record.s)`, want: " hello world "},
		{name: "merge", expr: `merge(record.o, {z = 1})`, want: map[string]any{"k": "v", "z": json.Number("1")}},
		{name: "regex", expr: `regex("W(or)ld", record.s)`, want: []any{"or"}},
		{name: "regex_replace", expr: `regex_replace(record.s, "o+", "0")`, want: " Hell0 W0rld "},
		{name: "regexreplace", expr: `regexreplace(record.s, "[lo]", "")`, want: " He Wrd "},
		{name: "replace", expr: `replace(record.s, "World", "you")`, want: " Hello you "},
		{name: "split", expr: `split(" ", trimspace(record.s))`, want: []any{"Hello", "World"}},
		{name: "substr", expr: `substr(record.t, 0, 1)`, want: "x"},
		{name: "tobool", expr: `tobool("true")`, want: true},
		{name: "tonumber", expr: `tonumber("2882429806056571124")`, want: json.Number("2882429806056571124")},
		{name: "tostring", expr: `tostring(record.n)`, want: "2882429806056571124"},
		{name: "trimspace", expr: `trimspace(record.s)`, want: "Hello World"},
		{name: "try", expr: `try(record.o.missing.x, "fallback")`, want: "fallback"},
		{name: "upper", expr: `upper(record.t)`, want: "X"},
		{name: "fraction", expr: `record.f * 3`, want: json.Number("0.3")},
	}
	rec := `{"s":" Hello World ","t":"x","n":2882429806056571124,"l":["a","b"],"o":{"k":"v"},"j":"{\"k\":2882429806056571124}","f":0.1}`
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := compile(t, `event_time = "2024-01-01T00:00:00Z"
event_name = "n"
event_type = "t"
user_uid = 1
event_details = { v = `+tt.expr+` }`)
			ev, err := m.Map(record(t, rec), []byte(rec), testSrc)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ev.Details["v"]); diff != "" {
				t.Errorf("%s (-want +got):\n%s", tt.expr, diff)
			}
		})
	}
}
