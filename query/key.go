package query

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyFile is the name of the generated superadmin key file inside data_dir.
const KeyFile = "superadmin.key"

// LoadOrCreateKey returns the superadmin key stored in dataDir/superadmin.key,
// creating the file (mode 0600, 32 random bytes as unpadded base64url, 43
// characters) when it does not exist. created reports whether the file was
// made by this call, so the agent prints the key once. The file is written
// to a temporary name, synced and linked into place, so two processes
// starting at once agree on one key and a crash never leaves a partial key.
// An existing file readable or writable by group or others is refused, as
// ssh refuses such private keys.
func LoadOrCreateKey(dataDir string) (key string, created bool, err error) {
	p := filepath.Join(dataDir, KeyFile)
	key, err = readKey(p)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", false, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return "", false, fmt.Errorf("create data_dir %q: %w", dataDir, err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", false, fmt.Errorf("generate superadmin key: %w", err)
	}
	key = base64.RawURLEncoding.EncodeToString(raw[:])
	tmp, err := os.CreateTemp(dataDir, KeyFile+".tmp-*")
	if err != nil {
		return "", false, fmt.Errorf("create superadmin key: %w", err)
	}
	defer func() { _ = os.Remove(tmp.Name()) }()
	// CreateTemp makes the file 0600 already; Chmod guards against odd umasks
	// on platforms where it does not.
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return "", false, fmt.Errorf("create superadmin key %q: %w", tmp.Name(), err)
	}
	if _, err := tmp.WriteString(key + "\n"); err != nil {
		_ = tmp.Close()
		return "", false, fmt.Errorf("write superadmin key %q: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return "", false, fmt.Errorf("sync superadmin key %q: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return "", false, fmt.Errorf("close superadmin key %q: %w", tmp.Name(), err)
	}
	if err := os.Link(tmp.Name(), p); err != nil {
		if errors.Is(err, fs.ErrExist) { // another process won the race
			key, err = readKey(p)
			return key, false, err
		}
		return "", false, fmt.Errorf("install superadmin key %q: %w", p, err)
	}
	if d, err := os.Open(dataDir); err == nil {
		_ = d.Sync() // make the new name durable; best effort
		_ = d.Close()
	}
	return key, true, nil
}

// readKey reads and checks an existing key file.
func readKey(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("open superadmin key: %w", err)
	}
	defer func() { _ = f.Close() }()
	st, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("stat superadmin key %q: %w", p, err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("superadmin key %q has mode %#o: allow only its owner (chmod 600)", p, st.Mode().Perm())
	}
	b := make([]byte, 1024)
	n, err := f.Read(b)
	if err != nil && n == 0 {
		return "", fmt.Errorf("read superadmin key %q: %w", p, err)
	}
	key := strings.TrimSpace(string(b[:n]))
	if key == "" || strings.ContainsAny(key, " \t\r\n") {
		return "", fmt.Errorf("superadmin key %q is empty or malformed", p)
	}
	return key, nil
}

// HashKey returns the lowercase hex SHA-256 of key: the value of an api_key
// block's sha256 attribute.
func HashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}
