package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// hostConfig writes an agent.hcl with one input, the embedded store, the
// query API and the given extra blocks, and returns its path.
func hostConfig(t *testing.T, dir, query, extra string) string {
	t.Helper()
	text := `data_dir = "data"
http { listen = "" }
input "file" "app" {
  paths = ["logs/*.log"]
  parser "json" {}
  mapping {
    event_time    = record.ts
    event_name    = record.audit.resource
    event_type    = record.audit.action
    user_uid      = record.audit.user_uid
  }
}
output "sqlite" "store" {}
query {
  listen = "127.0.0.1:0"
` + query + `
}
` + extra
	p := filepath.Join(dir, "agent.hcl")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHostChecks: what the agent reads at start besides the config file (the
// super-admin key from the environment, the query API's TLS pair, the
// outputs' credential files) is checked by validate, and a problem there
// makes agent and query exit 2 (a configuration error, which the systemd
// unit does not restart on), not 1.
func TestHostChecks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	emptyFile := filepath.Join(dir, "empty")
	if err := os.WriteFile(emptyFile, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "broken.pem")
	if err := os.WriteFile(notPEM, []byte("not a PEM file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, query, extra string
		env                []string
		want               string
	}{
		{"short super-admin key", "", "", []string{"AUDITSHIP_SUPERADMIN_KEY=short"}, "AUDITSHIP_SUPERADMIN_KEY is 5 characters"},
		{"super-admin key with spaces around", "", "", []string{"AUDITSHIP_SUPERADMIN_KEY=                "}, "white space"},
		{"TLS pair that does not load", "tls_cert_file = \"" + notPEM + "\"\ntls_key_file = \"" + notPEM + "\"", "", nil, "TLS key pair"},
		{"missing password file", "", `output "elasticsearch" "es" {
  addresses     = ["http://127.0.0.1:1"]
  username      = "u"
  password_file = "` + filepath.Join(dir, "no-such-file") + `"
}
`, nil, `output "es"`},
		{"password file that is a directory", "", `output "elasticsearch" "es" {
  addresses     = ["http://127.0.0.1:1"]
  username      = "u"
  password_file = "` + dir + `"
}
`, nil, "is a directory"},
		{"empty password file", "", `output "elasticsearch" "es" {
  addresses     = ["http://127.0.0.1:1"]
  username      = "u"
  password_file = "` + emptyFile + `"
}
`, nil, "is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sub := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_"))
			if err := os.MkdirAll(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			cfg := hostConfig(t, sub, tc.query, tc.extra)
			for _, args := range [][]string{
				{"validate", "--config", cfg},
				{"agent", "--once", "--config", cfg},
				{"query", "--config", cfg},
			} {
				code, _, stderr := runAuditship(t, tc.env, args...)
				if code != 2 || !strings.Contains(stderr, tc.want) {
					t.Errorf("%s: exit %d, stderr %q; want exit 2 naming %q", args[0], code, stderr, tc.want)
				}
			}
		})
	}
}

// TestFirstStart_KeyNotLogged: the super-admin key generated at the first
// start is not written to standard error when that is not a terminal (under
// systemd, the journal): only its path is logged.
func TestFirstStart_KeyNotLogged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := hostConfig(t, dir, "", "")
	cmd := exec.Command(binPath, "agent", "--config", cfg, "--log-format", "json")
	cmd.Dir = dir
	cmd.Env = os.Environ()
	for i, e := range cmd.Env {
		if strings.HasPrefix(e, "AUDITSHIP_SUPERADMIN_KEY=") {
			cmd.Env[i] = "AUDITSHIP_SUPERADMIN_KEY="
		}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	keyPath := filepath.Join(dir, "data", "superadmin.key")
	deadline := time.Now().Add(30 * time.Second)
	var key []byte
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(keyPath); err == nil && len(bytes.TrimSpace(b)) > 0 {
			key = bytes.TrimSpace(b)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if key == nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("no key file within 30s\n%s", stderr.String())
	}
	// The notice is logged right after the key is written, before a
	// SIGTERM is acted on; stderr is read once the process has exited.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("agent: %v\n%s", err, stderr.String())
	}
	out := stderr.String()
	if strings.Contains(out, string(key)) {
		t.Errorf("the generated key is on standard error:\n%s", out)
	}
	if !strings.Contains(out, `"path":"`+keyPath+`"`) {
		t.Errorf("standard error does not log the key's path %s:\n%s", keyPath, out)
	}
}
