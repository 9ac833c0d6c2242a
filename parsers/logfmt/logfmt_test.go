package logfmt

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/parsers"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	def := DefaultConfig()
	raw := DefaultConfig()
	raw.ExpandDottedKeys, raw.StripANSI = false, false
	tests := []struct {
		name    string
		cfg     Config
		line    string
		want    parsers.Record
		wantErr string
		skip    bool
	}{
		{name: "quoted values", cfg: def,
			line: `a=1 b="two words" c="x=y" d="say \"hi\"" e="a\\b"`,
			want: parsers.Record{"a": "1", "b": "two words", "c": "x=y", "d": `say "hi"`, "e": `a\b`}},
		{name: "bare key and empty value", cfg: def,
			line: `debug reason= q="" last`,
			want: parsers.Record{"debug": true, "reason": "", "q": "", "last": true}},
		{name: "bare key after quoted value with spaces", cfg: def,
			line: `msg="a b c" flag`,
			want: parsers.Record{"msg": "a b c", "flag": true}},
		{name: "duplicate keys last wins", cfg: def,
			line: `k=1 k=2 k`, want: parsers.Record{"k": true}},
		{name: "dotted keys expanded", cfg: def,
			line: `user.id=4 user.name=bob level=info`,
			want: parsers.Record{"user": map[string]any{"id": "4", "name": "bob"}, "level": "info"}},
		{name: "dotted key blocked", cfg: def,
			line: `user=bob user.id=4`, want: parsers.Record{"user": "bob", "user.id": "4"}},
		{name: "ansi stripped", cfg: def,
			line: "\x1b[36mINFO\x1b[0m[0000] \x1b[1mlevel\x1b[22m=info msg=\"\x1b[31mred\x1b[0m\"",
			want: parsers.Record{"INFO[0000]": true, "level": "info", "msg": "red"}},
		{name: "ansi kept", cfg: raw,
			line: "\x1b[1mlevel\x1b[22m=info",
			want: parsers.Record{"[1mlevel": true, "[22m": "info"}},
		{name: "expansion off", cfg: raw, line: `user.id=4`, want: parsers.Record{"user.id": "4"}},
		{name: "unicode and invalid utf-8 kept", cfg: def,
			line: "name=héllo bytes=\xff\xfe q=\"世界\"",
			want: parsers.Record{"name": "héllo", "bytes": "\xff\xfe", "q": "世界"}},
		{name: "crlf", cfg: def, line: "a=1\r", want: parsers.Record{"a": "1"}},
		{name: "auditd prefix", cfg: def,
			line: `type=CWD msg=audit(1492037291.036:59):  cwd="/home/user1"`,
			want: parsers.Record{"type": "CWD", "msg": "audit(1492037291.036:59):", "cwd": "/home/user1"}},
		{name: "blank", cfg: def, line: "", skip: true},
		{name: "whitespace", cfg: def, line: " \t \r", skip: true},
		{name: "only ansi", cfg: def, line: "\x1b[0m", skip: true},
		{name: "equals in bare value", cfg: def, line: `a=b=c`, wantErr: "invalid logfmt at byte 3: unexpected '='"},
		{name: "unterminated quote", cfg: def, line: `a="open`, wantErr: "invalid logfmt at byte 7: unterminated quoted value"},
		{name: "single-quoted auditd payload", cfg: def, line: `msg='op=login res=success'`, wantErr: "unexpected '='"},
		{name: "newline", cfg: def, line: "a=1\nb=2", wantErr: "newline inside a line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := mustNew(t, tt.cfg).Decode([]byte(tt.line))
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

func TestDecode_DoesNotAliasLine(t *testing.T) {
	t.Parallel()
	line := []byte(`k=value q="quoted \"x\"" user.name=x`)
	rec, err := mustNew(t, DefaultConfig()).Decode(line)
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
	raw := DefaultConfig()
	raw.ExpandDottedKeys, raw.StripANSI = false, false
	decoders := []*Decoder{mustNew(f, DefaultConfig()), mustNew(f, raw)}
	f.Fuzz(func(t *testing.T, line []byte) {
		orig := string(line)
		for _, d := range decoders {
			rec, err := d.Decode(line)
			if string(line) != orig {
				t.Fatal("Decode() modified its input")
			}
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
	for _, p := range []string{
		"testdata/real/logfmt-grafana/input.log",
		"testdata/real/logfmt-kubelet/input.log",
	} {
		in, err := os.ReadFile(p)
		if err != nil {
			b.Fatal(err)
		}
		lines = append(lines, splitLines(in)...)
	}
	var size int64
	for _, l := range lines {
		size += int64(len(l))
	}
	d := mustNew(b, DefaultConfig())
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
