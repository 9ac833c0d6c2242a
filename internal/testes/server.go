package testes

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Server is a private ZincSearch instance on its own loopback port and data
// directory, for tests that stop and start the server (an outage) without
// disturbing the shared one. Its data survives [Server.Stop] and
// [Server.Start]. It is stopped when the test ends.
type Server struct {
	t    testing.TB
	bin  string
	data string
	port string

	mu     sync.Mutex
	cmd    *exec.Cmd
	done   chan struct{}
	stderr *bytes.Buffer
}

// Server credentials, the same as scripts/testserver/start.sh's defaults.
const (
	serverUser     = "admin"
	serverPassword = "auditship-test"
)

// ServerBinary returns the ZincSearch binary built by
// scripts/testserver/build.sh (under $TESTSERVER_CACHE, default
// <module root>/.cache/testserver), or "" when it is not built.
func ServerBinary() string {
	cache := os.Getenv("TESTSERVER_CACHE")
	if cache == "" {
		dir, err := os.Getwd()
		if err != nil {
			return ""
		}
		for {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				break
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				return ""
			}
			dir = parent
		}
		cache = filepath.Join(dir, ".cache", "testserver")
	}
	bin := filepath.Join(cache, "bin", "zincsearch")
	if fi, err := os.Stat(bin); err != nil || fi.IsDir() {
		return ""
	}
	return bin
}

// StartServer starts a private ZincSearch on a free loopback port with a
// data directory under t.TempDir() and waits until it answers. It fails the
// test when the binary is not built (make testserver-build).
func StartServer(t testing.TB) *Server {
	t.Helper()
	bin := ServerBinary()
	if bin == "" {
		t.Fatal("the ZincSearch test server is not built: run make testserver-build")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	_ = l.Close()
	s := &Server{t: t, bin: bin, data: t.TempDir(), port: port}
	t.Cleanup(s.Stop)
	s.Start()
	return s
}

// URL returns the base URL of the Elasticsearch API, with credentials.
func (s *Server) URL() string {
	return fmt.Sprintf("http://%s:%s@127.0.0.1:%s/es", serverUser, serverPassword, s.port)
}

// Start starts the server (again) on the same port and data directory and
// waits, at most 30 s, until GET /es/ answers.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return
	}
	cmd := exec.Command(s.bin)
	cmd.Env = append(os.Environ(),
		"ZINC_FIRST_ADMIN_USER="+serverUser,
		"ZINC_FIRST_ADMIN_PASSWORD="+serverPassword,
		"ZINC_DATA_PATH="+s.data,
		"ZINC_SERVER_ADDRESS=127.0.0.1",
		"ZINC_SERVER_PORT="+s.port,
		"ZINC_TELEMETRY=false",
		"ZINC_PROMETHEUS_ENABLE=false",
		"GIN_MODE=release",
	)
	s.stderr = &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = s.stderr, s.stderr
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start zincsearch: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	s.cmd, s.done = cmd, done

	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := Do(s.t, http.MethodGet, s.URL()+"/", nil)
		if err == nil && res.Status < 300 {
			return
		}
		select {
		case <-done:
			s.t.Fatalf("zincsearch on port %s exited during start:\n%s", s.port, tail(s.stderr.Bytes()))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("zincsearch on port %s does not answer after 30s: %v", s.port, err)
		}
	}
}

// Stop stops the server with SIGTERM (SIGKILL after 10 s) and waits for it
// to exit. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.t.Errorf("stop zincsearch: %v", err)
	}
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd, s.done = nil, nil
}

func tail(b []byte) []byte {
	if len(b) > 2000 {
		return b[len(b)-2000:]
	}
	return b
}
