package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const httpTestInput = `
input "file" "app" {
  paths = ["logs/*.log"]
  parser "json" {}
  mapping {
    event_time = record.ts
    event_name = record.name
    event_type = record.type
    user_uid   = record.uid
  }
}
output "sqlite" "store" {}
`

func TestLoad_HTTP(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		block string
		want  HTTP
		diag  string
	}{
		{"no block", "", HTTP{Listen: DefaultHTTPListen, ReadyFailingAfter: 30 * time.Second}, ""},
		{"empty block", "http {}", HTTP{Listen: DefaultHTTPListen, ReadyFailingAfter: 30 * time.Second}, ""},
		{"disabled", `http { listen = "" }`, HTTP{Listen: "", ListenSet: true, ReadyFailingAfter: 30 * time.Second}, ""},
		{"all set", "http {\n listen = \"0.0.0.0:9100\"\n ready_max_lag_bytes = 1000\n ready_failing_after = \"5s\"\n}",
			HTTP{Listen: "0.0.0.0:9100", ListenSet: true, ReadyMaxLagBytes: 1000, ReadyFailingAfter: 5 * time.Second}, ""},
		{"negative lag", "http {\n ready_max_lag_bytes = -1\n}", HTTP{}, "Invalid ready_max_lag_bytes"},
		{"bad duration", "http {\n ready_failing_after = \"soon\"\n}", HTTP{}, "Invalid ready_failing_after"},
		{"unknown key", "http {\n listn = \"x\"\n}", HTTP{}, "Unsupported argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg, _, diags := Parse([]byte(httpTestInput+tc.block), "/etc/auditship/agent.hcl")
			if tc.diag != "" {
				if !diags.HasErrors() || !strings.Contains(diags.Error(), tc.diag) {
					t.Fatalf("diagnostics %v, want %q", diags, tc.diag)
				}
				for _, d := range diags {
					if d.Subject == nil || d.Subject.Start.Line < 12 {
						t.Errorf("diagnostic %q points at %v, want the http block", d.Summary, d.Subject)
					}
				}
				return
			}
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			if diff := cmp.Diff(tc.want, cfg.HTTP); diff != "" {
				t.Errorf("HTTP (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoad_Sources checks the block texts a reload compares: editing one
// block changes only that block's Source.
func TestLoad_Sources(t *testing.T) {
	t.Parallel()
	load := func(src string) *Config {
		t.Helper()
		cfg, _, diags := Parse([]byte(src), "/etc/auditship/agent.hcl")
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		return cfg
	}
	a := load(httpTestInput)
	b := load("# a comment above moves every line\n\n" + strings.Replace(httpTestInput, `output "sqlite" "store" {}`, "output \"sqlite\" \"store\" {\n  busy_timeout = \"9s\"\n}", 1) + "pipeline {\n  batch_events = 10\n}\n")
	if a.Inputs[0].Source == "" || a.Inputs[0].Source != b.Inputs[0].Source {
		t.Errorf("input Source changed by edits elsewhere:\n%q\n%q", a.Inputs[0].Source, b.Inputs[0].Source)
	}
	if !strings.HasPrefix(a.Inputs[0].Source, `input "file" "app" {`) || !strings.HasSuffix(a.Inputs[0].Source, "}") {
		t.Errorf("input Source %q is not the whole block", a.Inputs[0].Source)
	}
	if a.Outputs[0].Source == b.Outputs[0].Source {
		t.Error("output Source unchanged after editing the output block")
	}
	if a.DeliverySource == b.DeliverySource {
		t.Error("DeliverySource unchanged after adding a pipeline block")
	}
}
