package query

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateKey(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	key, created, err := LoadOrCreateKey(dir)
	if err != nil || !created {
		t.Fatalf("first call: created %v, err %v; want a new key", created, err)
	}
	if len(key) != 43 || strings.ContainsAny(key, "+/= \n") {
		t.Errorf("key %q, want 43 base64url characters", key)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %#o, want 0600", st.Mode().Perm())
	}
	again, created, err := LoadOrCreateKey(dir)
	if err != nil || created || again != key {
		t.Errorf("second call: %q created %v err %v; want the same key, not created", again, created, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*"))
	if len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	if HashKey(key) == HashKey(key+"x") || len(HashKey(key)) != 64 {
		t.Errorf("HashKey %q is not a 64-digit hash", HashKey(key))
	}
}

func TestLoadOrCreateKey_RefusesOpenMode(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("k\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, KeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKey(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("error %v, want a refusal naming chmod 600", err)
	}
}

func TestLoadOrCreateKey_Existing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("  my-key \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, created, err := LoadOrCreateKey(dir)
	if err != nil || created || key != "my-key" {
		t.Errorf("got %q created %v err %v; want my-key", key, created, err)
	}
}
