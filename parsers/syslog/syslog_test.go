package syslog

import (
	encjson "encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/auditship/auditship/parsers"
)

// fixedNow is the clock of the tests: mid-June 2026, UTC.
func fixedNow() time.Time { return time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC) }

func newAt(t testing.TB, c Config, now time.Time) *Decoder {
	t.Helper()
	d := mustNew(t, c)
	d.now = func() time.Time { return now }
	return d
}

func cfg(rfc, format, tz string) Config {
	c := DefaultConfig()
	if rfc != "" {
		c.RFC = rfc
	}
	if format != "" {
		c.MessageFormat = format
	}
	if tz != "" {
		c.Timezone = tz
	}
	return c
}

func num(s string) encjson.Number { return encjson.Number(s) }

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		cfg     Config
		now     time.Time
		line    string
		want    parsers.Record
		wantErr string
		skip    bool
	}{
		{name: "5424 structured data and json message", cfg: cfg("", "json", ""),
			line: `<165>1 2026-03-01T10:00:00.123+02:00 host1 auditd 4242 ID47 [exampleSDID@32473 iut="3" eventSource="App"][meta seq="1"] @cee: {"event":"user.login","user.id":7,"n":2882429806056571124}`,
			want: parsers.Record{
				"priority": num("165"), "facility": num("20"), "severity": num("5"),
				"timestamp": "2026-03-01T08:00:00.123Z", "hostname": "host1", "app_name": "auditd",
				"proc_id": "4242", "msg_id": "ID47",
				"structured_data": map[string]any{
					"exampleSDID@32473": map[string]any{"iut": "3", "eventSource": "App"},
					"meta":              map[string]any{"seq": "1"},
				},
				"message": `@cee: {"event":"user.login","user.id":7,"n":2882429806056571124}`,
				"msg":     map[string]any{"event": "user.login", "user": map[string]any{"id": num("7")}, "n": num("2882429806056571124")},
			}},
		{name: "5424 nil values", cfg: cfg("5424", "", ""),
			line: `<34>1 - - - - - -`,
			want: parsers.Record{"priority": num("34"), "facility": num("4"), "severity": num("2")}},
		{name: "5424 message not json leaves msg absent", cfg: cfg("", "json", ""),
			line: `<34>1 2026-01-02T03:04:05Z h a - - - plain text`,
			want: parsers.Record{"priority": num("34"), "facility": num("4"), "severity": num("2"),
				"timestamp": "2026-01-02T03:04:05Z", "hostname": "h", "app_name": "a", "message": "plain text"}},
		{name: "3164 logfmt message", cfg: cfg("", "logfmt", ""), now: fixedNow(),
			line: `<38>Mar  5 09:10:11 web1 sshd[812]: event=login user.name=bob ok`,
			want: parsers.Record{"priority": num("38"), "facility": num("4"), "severity": num("6"),
				"timestamp": "2026-03-05T09:10:11Z", "hostname": "web1", "app_name": "sshd", "proc_id": "812",
				"message": "event=login user.name=bob ok",
				"msg":     map[string]any{"event": "login", "user": map[string]any{"name": "bob"}, "ok": true}}},
		{name: "3164 timezone", cfg: cfg("3164", "", "Europe/Paris"), now: fixedNow(),
			line: `<13>Jun 15 14:00:00 h app: hi`,
			want: parsers.Record{"priority": num("13"), "facility": num("1"), "severity": num("5"),
				"timestamp": "2026-06-15T12:00:00Z", "hostname": "h", "app_name": "app", "message": "hi"}},
		{name: "3164 december read in january is last year", cfg: cfg("3164", "", ""),
			now:  time.Date(2027, 1, 2, 0, 0, 0, 0, time.UTC),
			line: `<13>Dec 31 23:59:59 h app: late`,
			want: parsers.Record{"priority": num("13"), "facility": num("1"), "severity": num("5"),
				"timestamp": "2026-12-31T23:59:59Z", "hostname": "h", "app_name": "app", "message": "late"}},
		{name: "3164 without pri (a file)", cfg: cfg("", "", ""), now: fixedNow(),
			line: `Jun  1 08:00:00 h sudo: bob : TTY=pts/0 ; COMMAND=/bin/ls`,
			want: parsers.Record{"timestamp": "2026-06-01T08:00:00Z", "hostname": "h", "app_name": "sudo",
				"message": "bob : TTY=pts/0 ; COMMAND=/bin/ls"}},
		{name: "invalid utf-8 message kept", cfg: cfg("5424", "", ""),
			line: "<13>1 - h a - - - caf\xe9",
			want: parsers.Record{"priority": num("13"), "facility": num("1"), "severity": num("5"),
				"hostname": "h", "app_name": "a", "message": "caf\xe9"}},
		{name: "blank", cfg: DefaultConfig(), line: " \r", skip: true},
		{name: "5424 bad timestamp", cfg: cfg("5424", "", ""), line: `<13>1 yesterday h a - - -`, wantErr: "invalid syslog (RFC 5424)"},
		{name: "3164 garbage", cfg: cfg("3164", "", ""), line: `<999>hello`, wantErr: "invalid syslog (RFC 3164)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			now := tt.now
			if now.IsZero() {
				now = fixedNow()
			}
			got, err := newAt(t, tt.cfg, now).Decode([]byte(tt.line))
			switch {
			case tt.skip:
				if !errors.Is(err, parsers.ErrSkip) {
					t.Fatalf("Decode() error = %v, want ErrSkip", err)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errors.Is(err, parsers.ErrSkip) {
					t.Fatalf("Decode() error = %v, want one containing %q", err, tt.wantErr)
				}
			default:
				if err != nil {
					t.Fatalf("Decode() error = %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("Decode() mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func TestConfig_Validate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		src      string
		summarys []string
		subject  string // source covered by the first diagnostic's Subject
	}{
		{name: "defaults", src: ``},
		{name: "all set", src: "rfc = \"3164\"\n  message_format = \"logfmt\"\n  timezone = \"America/New_York\""},
		{name: "bad rfc", src: `rfc = "5425"`, summarys: []string{"Invalid rfc"}, subject: `"5425"`},
		{name: "bad format", src: `message_format = "xml"`, summarys: []string{"Invalid message_format"}, subject: `"xml"`},
		{name: "bad zone", src: `timezone = "Mars/Olympus"`, summarys: []string{"Invalid timezone"}, subject: `"Mars/Olympus"`},
		{name: "all bad", src: "rfc = \"x\"\n  message_format = \"y\"\n  timezone = \"z/z\"",
			summarys: []string{"Invalid rfc", "Invalid message_format", "Invalid timezone"}, subject: `"x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := "parser \"syslog\" {\n  " + tt.src + "\n}\n"
			f, diags := hclparse.NewParser().ParseHCL([]byte(src), "agent.hcl")
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			var root struct {
				Parser struct {
					Type     string    `hcl:"type,label"`
					Body     hcl.Body  `hcl:",remain"`
					DefRange hcl.Range `hcl:",def_range"`
				} `hcl:"parser,block"`
			}
			if diags := gohcl.DecodeBody(f.Body, nil, &root); diags.HasErrors() {
				t.Fatal(diags)
			}
			c := DefaultConfig()
			c.Block = root.Parser.DefRange
			if diags := gohcl.DecodeBody(root.Parser.Body, nil, &c); diags.HasErrors() {
				t.Fatal(diags)
			}
			diags = c.Validate()
			var got []string
			for _, d := range diags {
				got = append(got, d.Summary)
				if d.Subject == nil || d.Subject.Filename != "agent.hcl" || d.Detail == "" {
					t.Errorf("diagnostic %q has no subject or detail", d.Summary)
				}
			}
			if diff := cmp.Diff(tt.summarys, got); diff != "" {
				t.Fatalf("Validate() summaries (-want +got):\n%s", diff)
			}
			if tt.subject != "" {
				if s := string(diags[0].Subject.SliceBytes([]byte(src))); s != tt.subject {
					t.Errorf("subject covers %q, want %q", s, tt.subject)
				}
			}
			if _, err := New(c); (err == nil) != (len(tt.summarys) == 0) {
				t.Errorf("New() error = %v", err)
			}
		})
	}
}

func TestDecode_DoesNotAliasLine(t *testing.T) {
	t.Parallel()
	for _, l := range []string{
		`<165>1 2026-03-01T10:00:00Z host1 app 1 ID [sd a="b"] {"k":"v"}`,
		`<38>Mar  5 09:10:11 web1 sshd[812]: k=v`,
	} {
		line := []byte(l)
		rec, err := newAt(t, cfg("", "json", ""), fixedNow()).Decode(line)
		if err != nil {
			t.Fatal(err)
		}
		want := roundTrip(t, rec)
		for i := range line {
			line[i] = 'X'
		}
		if diff := cmp.Diff(want, rec); diff != "" {
			t.Errorf("record changed with the line (-want +got):\n%s", diff)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, dir := range caseDirs(f) {
		b, err := os.ReadFile(filepath.Join(dir, "input.log"))
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range splitLines(b) {
			f.Add(line)
		}
	}
	decoders := []*Decoder{
		newAt(f, cfg("", "json", ""), fixedNow()),
		newAt(f, cfg("3164", "logfmt", "Asia/Kolkata"), fixedNow()),
		newAt(f, cfg("5424", "logfmt", ""), fixedNow()),
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		for _, d := range decoders {
			rec, err := d.Decode(line)
			if err != nil {
				if rec != nil {
					t.Fatalf("Decode() returned a record with error %v", err)
				}
				continue
			}
			checkRoundTrip(t, rec)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	var lines [][]byte
	for _, p := range []string{"testdata/rfc5424-json/input.log", "testdata/rfc3164-logfmt/input.log"} {
		in, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		for _, l := range splitLines(in) {
			if len(strings.TrimSpace(string(l))) > 0 {
				lines = append(lines, l)
			}
		}
	}
	var size int64
	for _, l := range lines {
		size += int64(len(l))
	}
	d := newAt(b, cfg("", "json", ""), fixedNow())
	b.SetBytes(size / int64(len(lines)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_, _ = d.Decode(lines[i%len(lines)])
		i++
	}
}
