package query

import (
	"slices"
	"testing"
)

func TestConfig_Validate(t *testing.T) {
	t.Parallel()
	type test = struct {
		name string
		src  string
		want []string // diagnostic summaries
	}
	tests := []test{
		{"defaults", ``, nil},
		{"test config", testHCL, nil},
		{"everything set", `
listen = "0.0.0.0:9443"
tls_cert_file = "c.pem"
tls_key_file = "k.pem"
read_timeout = "1s"
write_timeout = "2s"
rate_limit = 0.5
rate_burst = 1
`, nil},
		{"bad values", `
listen = "8080"
tls_cert_file = "c.pem"
read_timeout = "0s"
write_timeout = "soon"
rate_limit = 0
rate_burst = 0
`, []string{"Invalid listen", "Incomplete TLS settings", "Invalid read_timeout", "Invalid write_timeout", "Invalid rate_limit", "Invalid rate_burst"}},
		{"bad keys", `
api_key "a" {
  sha256 = "abc"
  role   = ""
}
api_key "a" {
  sha256 = "` + HashKey("x") + `"
  role   = "viewer"
}
api_key "b" {
  sha256 = "` + HashKey("x") + `"
  role   = "viewer"
}
api_key "superadmin" {
  sha256 = "` + HashKey("y") + `"
  role   = "superadmin"
}
`, []string{"Invalid sha256", "Invalid role", "Duplicate api_key", "Duplicate sha256", "Reserved api_key name"}},
	}
	for _, l := range []string{"127.0.0.1:99999", "127.0.0.1:-1", "127.0.0.1:http", "127.0.0.1:", "bad host!:8080", "[::1:8080", "a..b:80", "-x:80"} {
		tests = append(tests, test{"listen " + l, "listen = \"" + l + "\"\n", []string{"Invalid listen"}})
	}
	for _, l := range []string{"127.0.0.1:0", ":8080", "[::1]:65535", "localhost:1", "audit.example.com:443"} {
		tests = append(tests, test{"listen " + l, "listen = \"" + l + "\"\n", nil})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, diags := decodeConfig(t, tt.src)
			var got []string
			for _, d := range diags {
				got = append(got, d.Summary)
				if d.Subject == nil || d.Subject.Filename != "agent.hcl" {
					t.Errorf("diagnostic %q has subject %v, want a range in agent.hcl", d.Summary, d.Subject)
				}
				if d.Detail == "" {
					t.Errorf("diagnostic %q has no detail", d.Summary)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("diagnostics %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConfig_ValidateListenDetail(t *testing.T) {
	t.Parallel()
	_, diags := decodeConfig(t, `listen = "127.0.0.1:99999"`+"\n")
	if len(diags) != 1 {
		t.Fatalf("diagnostics %v, want one", diags)
	}
	const want = `The listen address "127.0.0.1:99999" has port "99999", which is not a port number from 1 to 65535 (or 0 for a free port); use host:port, such as "127.0.0.1:8080".`
	if diags[0].Detail != want {
		t.Errorf("detail %q\nwant   %q", diags[0].Detail, want)
	}
}
