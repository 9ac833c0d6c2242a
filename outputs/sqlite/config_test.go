package sqlite

import (
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

func TestConfig_Validate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		src      string
		want     Config
		summarys []string
	}{
		{name: "defaults", src: ``, want: DefaultConfig()},
		{name: "set", src: "path = \"/x/a.db\"\nbusy_timeout = \"250ms\"\n", want: Config{Path: "/x/a.db", BusyTimeout: "250ms"}},
		{name: "bad", src: "path = \"\"\nbusy_timeout = \"soon\"\n", summarys: []string{"Invalid path", "Invalid busy_timeout"}},
		{name: "negative", src: "busy_timeout = \"-1s\"\n", summarys: []string{"Invalid busy_timeout"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, diags := hclsyntax.ParseConfig([]byte(tt.src), "test.hcl", hcl.InitialPos)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			c := DefaultConfig()
			if diags := gohcl.DecodeBody(f.Body, nil, &c); diags.HasErrors() {
				t.Fatal(diags)
			}
			diags = c.Validate()
			var got []string
			for _, d := range diags {
				got = append(got, d.Summary)
				if d.Subject == nil || d.Subject.Filename != "test.hcl" {
					t.Errorf("diagnostic %q has subject %v, want a range in test.hcl", d.Summary, d.Subject)
				}
			}
			if len(got) != len(tt.summarys) {
				t.Fatalf("diagnostics %q, want %q", got, tt.summarys)
			}
			for i := range got {
				if got[i] != tt.summarys[i] {
					t.Errorf("diagnostic %d = %q, want %q", i, got[i], tt.summarys[i])
				}
			}
			if len(tt.summarys) == 0 && (c.Path != tt.want.Path || c.BusyTimeout != tt.want.BusyTimeout) {
				t.Errorf("decoded %+v, want %+v", c, tt.want)
			}
		})
	}
}
