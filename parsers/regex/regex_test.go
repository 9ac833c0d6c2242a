package regex

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/auditship/auditship/parsers"
)

const auditdPattern = `^(?:node=(?P<node>\S+) )?type=(?P<type>\S+) msg=audit\((?P<epoch>\d+\.\d+):(?P<serial>\d+)\): ?(?P<body>.*)$`

func TestConfig_Validate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		src     string
		summary string // "" means no diagnostics
		detail  string
		subject string // the source text the Subject covers
	}{
		{name: "ok", src: `pattern = "(?P<user>\\S+)"`},
		{name: "missing", src: ``, summary: "Missing pattern", detail: "needs pattern", subject: `parser "regex"`},
		{name: "does not compile", src: `pattern = "(?P<user>[a-"`, summary: "Invalid pattern",
			detail: `The pattern "(?P<user>[a-" is not a valid RE2 expression`, subject: `"(?P<user>[a-"`},
		{name: "no named group", src: `pattern = "user=(\\S+)"`, summary: "Invalid pattern",
			detail: "has no named capture group", subject: `"user=(\\S+)"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := "parser \"regex\" {\n  " + tt.src + "\n}\n"
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
			// As the config loader does: the second pass (DecodeBody) does
			// not fill def_range, so the block's range is copied in.
			c.Block = root.Parser.DefRange
			if diags := gohcl.DecodeBody(root.Parser.Body, nil, &c); diags.HasErrors() {
				t.Fatal(diags)
			}
			diags = c.Validate()
			if tt.summary == "" {
				if len(diags) != 0 {
					t.Fatalf("Validate() = %v, want none", diags)
				}
				if _, err := New(c); err != nil {
					t.Fatal(err)
				}
				return
			}
			if len(diags) != 1 {
				t.Fatalf("Validate() = %v, want one diagnostic", diags)
			}
			d := diags[0]
			if d.Summary != tt.summary || !strings.Contains(d.Detail, tt.detail) {
				t.Errorf("diagnostic = %q / %q, want %q / containing %q", d.Summary, d.Detail, tt.summary, tt.detail)
			}
			if d.Subject == nil || d.Subject.Filename != "agent.hcl" {
				t.Fatalf("diagnostic subject = %v, want a range in agent.hcl", d.Subject)
			}
			if tt.subject != "" {
				if got := string(d.Subject.SliceBytes([]byte(src))); got != tt.subject {
					t.Errorf("subject covers %q, want %q", got, tt.subject)
				}
			}
			if _, err := New(c); err == nil {
				t.Error("New() accepted an invalid config")
			}
		})
	}
}

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		pattern string
		line    string
		want    parsers.Record
		skip    bool
	}{
		{name: "named groups only", pattern: `(?P<user>\w+) (\w+) (?<action>\w+)`, line: "alice did login",
			want: parsers.Record{"user": "alice", "action": "login"}},
		{name: "optional group absent", pattern: `^(?:node=(?P<node>\S+) )?type=(?P<type>\S+)`, line: "type=X",
			want: parsers.Record{"type": "X"}},
		{name: "empty match kept", pattern: `^a=(?P<a>\S*)`, line: "a= b", want: parsers.Record{"a": ""}},
		{name: "invalid utf-8 kept", pattern: `v=(?P<v>\S+)`, line: "v=\xff\xfe", want: parsers.Record{"v": "\xff\xfe"}},
		{name: "crlf", pattern: `v=(?P<v>.*)$`, line: "v=1\r", want: parsers.Record{"v": "1"}},
		{name: "no match is skip", pattern: `^type=(?P<type>\S+)`, line: "hello", skip: true},
		{name: "blank is skip", pattern: `(?P<any>.*)`, line: "  \t", skip: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := mustNew(t, Config{Pattern: tt.pattern}).Decode([]byte(tt.line))
			if tt.skip {
				if !errors.Is(err, parsers.ErrSkip) {
					t.Fatalf("Decode() error = %v, want ErrSkip", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode() error = %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Decode() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecode_DoesNotAliasLine(t *testing.T) {
	t.Parallel()
	line := []byte("type=SYSCALL msg=audit(1492037291.036:59): arch=c000003e")
	rec, err := mustNew(t, Config{Pattern: auditdPattern}).Decode(line)
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
		mustNew(f, Config{Pattern: auditdPattern}),
		mustNew(f, Config{Pattern: `(?P<a>x*)(?P<b>[^=]+)=(?P<a>.)?`}),
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
	in, err := os.ReadFile("testdata/real/auditd-normal/input.log")
	if err != nil {
		b.Fatal(err)
	}
	lines := splitLines(in)
	var size int64
	for _, l := range lines {
		size += int64(len(l))
	}
	d := mustNew(b, Config{Pattern: auditdPattern})
	b.SetBytes(size / int64(len(lines)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := d.Decode(lines[i%len(lines)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
