package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// ErrDataDirInUse is wrapped by LockDataDir's error when another process
// holds the lock.
var ErrDataDirInUse = errors.New("data_dir is in use by another auditship process")

// LockDataDir takes an exclusive lock on dataDir/lock (flock(2)), so that two
// processes never share a registry and a dead-letter file: a second agent, an
// `agent --once` beside a running agent, or `deadletter replay` while the
// agent runs. The kernel drops the lock when the process ends, even by kill
// -9, so a stale lock file never blocks a restart. unlock releases it.
func LockDataDir(dataDir string) (unlock func(), err error) {
	p := filepath.Join(dataDir, "lock")
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b := make([]byte, 32)
		n, _ := f.ReadAt(b, 0)
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			holder := strings.TrimSpace(string(b[:n]))
			if _, perr := strconv.Atoi(holder); perr == nil {
				return nil, fmt.Errorf("%w (pid %s holds %q)", ErrDataDirInUse, holder, p)
			}
			return nil, fmt.Errorf("%w (%q is locked)", ErrDataDirInUse, p)
		}
		return nil, fmt.Errorf("lock %q: %w", p, err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		_ = f.Close()
	}, nil
}
