package query

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/auditship/auditship/internal/testcert"
	"github.com/auditship/auditship/outputs/sqlite"
)

func TestServer_TLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, cert := testcert.SelfSigned(t, dir)
	st, err := sqlite.New(sqlite.DefaultConfig(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Open(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = st.Close(context.Background()) }()
	if err := st.Write(t.Context(), makeEvents(1, 3)); err != nil {
		t.Fatal(err)
	}
	c, diags := decodeConfig(t, fmt.Sprintf("listen = \"127.0.0.1:0\"\ntls_cert_file = %q\ntls_key_file = %q\n", certFile, keyFile))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	srv, err := New(c, st, Options{SuperadminKey: rootKey})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("server not ready after 10s")
	}

	get := func(client *http.Client, u string) (*http.Response, []byte, error) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+rootKey)
		resp, err := client.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}

	pool := x509.NewCertPool()
	pool.AddCert(cert)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	defer tr.CloseIdleConnections()
	resp, b, err := get(&http.Client{Transport: tr}, "https://"+srv.Addr()+"/audit-logs?order=asc")
	if err != nil {
		t.Fatalf("HTTPS with the certificate trusted: %v", err)
	}
	if resp.StatusCode != 200 || resp.TLS == nil || len(decodeEvents(t, b)) != 3 {
		t.Errorf("HTTPS: status %d, TLS %v, body %s", resp.StatusCode, resp.TLS != nil, b)
	}

	untrusted := &http.Transport{}
	defer untrusted.CloseIdleConnections()
	if _, _, err := get(&http.Client{Transport: untrusted}, "https://"+srv.Addr()+"/audit-logs"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("HTTPS without trusting the certificate: %v, want a certificate error", err)
	}

	plain := &http.Transport{}
	defer plain.CloseIdleConnections()
	if resp, _, err := get(&http.Client{Transport: plain, Timeout: 5 * time.Second}, "http://"+srv.Addr()+"/audit-logs"); err == nil && resp.StatusCode == 200 {
		t.Error("plain HTTP to the TLS port succeeded")
	}
}

func TestServer_TLSBadFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, _, _ := testcert.SelfSigned(t, dir)
	st, err := sqlite.New(sqlite.DefaultConfig(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, cert, key string }{
		{"missing key", certFile, filepath.Join(dir, "nope.pem")},
		{"cert as key", certFile, certFile},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := decodeConfig(t, fmt.Sprintf("listen = \"127.0.0.1:0\"\ntls_cert_file = %q\ntls_key_file = %q\n", tt.cert, tt.key))
			srv, err := New(c, st, Options{})
			if err != nil {
				t.Fatal(err)
			}
			err = srv.Run(t.Context())
			if err == nil || !strings.Contains(err.Error(), "TLS") {
				t.Errorf("Run = %v, want a TLS key pair error", err)
			}
		})
	}
}
