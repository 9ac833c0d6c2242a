package query

import (
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// RoleSuperadmin is the only role allowed to read GET /audit-logs.
const RoleSuperadmin = "superadmin"

// SuperadminKeyName is the key_name of the key given by
// AUDITSHIP_SUPERADMIN_KEY or the generated key file ([Options.SuperadminKey]);
// no api_key block may use it.
const SuperadminKeyName = "superadmin"

// KeyBlock is one api_key block: a named key, stored only as its hash.
//
//	api_key "ops-script" {
//	  sha256 = "<hex SHA-256 of the key>" # auditship keygen prints it
//	  role   = "superadmin"
//	}
type KeyBlock struct {
	// Name labels the key in logs and in audit_log/read events (key_name).
	Name string `hcl:"name,label"`
	// SHA256 is the lowercase or uppercase hex SHA-256 of the key (64 hex
	// digits), as [HashKey] returns it. The key itself is never configured.
	SHA256 string `hcl:"sha256"`
	// Role is what the key may do: "superadmin" reads /audit-logs; any other
	// role ("viewer", ...) is authenticated but refused with 403.
	Role string `hcl:"role"`

	DefRange    hcl.Range `hcl:",def_range"`
	NameRange   hcl.Range `hcl:"name,label_range"`
	SHA256Range hcl.Range `hcl:"sha256,attr_value_range"`
	RoleRange   hcl.Range `hcl:"role,attr_value_range"`
}

// Config is the query block of agent.hcl: the HTTP API for GET /audit-logs.
type Config struct {
	// Listen is the host:port to serve on: an IP address, a host name or
	// nothing (all interfaces), and a port number up to 65535. Default
	// "127.0.0.1:8080"; port 0 picks a free port.
	Listen string `hcl:"listen,optional"`
	// APIKeys are the keys accepted besides the superadmin key; see [KeyBlock].
	APIKeys []KeyBlock `hcl:"api_key,block"`
	// TLSCertFile and TLSKeyFile are PEM files; set both to serve HTTPS, or
	// neither for plain HTTP. Default: neither.
	TLSCertFile string `hcl:"tls_cert_file,optional"`
	TLSKeyFile  string `hcl:"tls_key_file,optional"`
	// ReadTimeout bounds reading a whole request, as a duration. Default "10s".
	ReadTimeout string `hcl:"read_timeout,optional"`
	// WriteTimeout bounds handling a request and writing its response, as a
	// duration. Default "30s".
	WriteTimeout string `hcl:"write_timeout,optional"`
	// RateLimit is the number of requests per second each key may make.
	// Default 10.
	RateLimit float64 `hcl:"rate_limit,optional"`
	// RateBurst is how many requests a key may make at once above RateLimit.
	// Default 20.
	RateBurst int `hcl:"rate_burst,optional"`

	ListenRange       hcl.Range `hcl:"listen,attr_value_range"`
	TLSCertFileRange  hcl.Range `hcl:"tls_cert_file,attr_value_range"`
	TLSKeyFileRange   hcl.Range `hcl:"tls_key_file,attr_value_range"`
	ReadTimeoutRange  hcl.Range `hcl:"read_timeout,attr_value_range"`
	WriteTimeoutRange hcl.Range `hcl:"write_timeout,attr_value_range"`
	RateLimitRange    hcl.Range `hcl:"rate_limit,attr_value_range"`
	RateBurstRange    hcl.Range `hcl:"rate_burst,attr_value_range"`
}

// DefaultConfig returns the defaults: listen "127.0.0.1:8080", no api_key
// blocks, no TLS, read_timeout "10s", write_timeout "30s", rate_limit 10,
// rate_burst 20.
func DefaultConfig() Config {
	return Config{
		Listen:       "127.0.0.1:8080",
		ReadTimeout:  "10s",
		WriteTimeout: "30s",
		RateLimit:    10,
		RateBurst:    20,
	}
}

// Validate checks the values without doing I/O and returns every problem.
func (c *Config) Validate() hcl.Diagnostics {
	var diags hcl.Diagnostics
	add := func(summary, detail string, subject hcl.Range) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: subject.Ptr(),
		})
	}
	if err := CheckListen(c.Listen); err != nil {
		add("Invalid listen", fmt.Sprintf("The listen address %q %s; use host:port, such as \"127.0.0.1:8080\".", c.Listen, err), c.ListenRange)
	}
	if (c.TLSCertFile == "") != (c.TLSKeyFile == "") {
		r := c.TLSCertFileRange
		if c.TLSCertFile == "" {
			r = c.TLSKeyFileRange
		}
		add("Incomplete TLS settings", "Set both tls_cert_file and tls_key_file to serve HTTPS, or neither for plain HTTP.", r)
	}
	for _, d := range []struct{ name, v string }{{"read_timeout", c.ReadTimeout}, {"write_timeout", c.WriteTimeout}} {
		if _, err := positiveDuration(d.v); err != nil {
			r := c.ReadTimeoutRange
			if d.name == "write_timeout" {
				r = c.WriteTimeoutRange
			}
			add("Invalid "+d.name, fmt.Sprintf("The %s %q is not a positive duration, such as \"10s\".", d.name, d.v), r)
		}
	}
	if !(c.RateLimit > 0) {
		add("Invalid rate_limit", fmt.Sprintf("The rate_limit %v is not a positive number of requests per second.", c.RateLimit), c.RateLimitRange)
	}
	if c.RateBurst < 1 {
		add("Invalid rate_burst", fmt.Sprintf("The rate_burst %d is not a whole number of 1 or more.", c.RateBurst), c.RateBurstRange)
	}
	names := map[string]bool{}
	hashes := map[string]string{}
	for _, k := range c.APIKeys {
		switch {
		case k.Name == "" || strings.TrimSpace(k.Name) != k.Name:
			add("Invalid api_key name", fmt.Sprintf("The api_key name %q is empty or has surrounding spaces.", k.Name), k.NameRange)
		case k.Name == SuperadminKeyName:
			add("Reserved api_key name", fmt.Sprintf("The api_key name %q is reserved for the key from AUDITSHIP_SUPERADMIN_KEY or the superadmin.key file; choose another name.", k.Name), k.NameRange)
		case names[k.Name]:
			add("Duplicate api_key", fmt.Sprintf("The api_key %q is defined more than once; names must be unique.", k.Name), k.DefRange)
		}
		names[k.Name] = true
		if b, err := hex.DecodeString(k.SHA256); err != nil || len(b) != 32 {
			add("Invalid sha256", fmt.Sprintf("The sha256 of api_key %q is not 64 hex digits; run auditship keygen for a new key and its block, or write the SHA-256 of the key in hex (sha256sum).", k.Name), k.SHA256Range)
		} else if other, ok := hashes[strings.ToLower(k.SHA256)]; ok {
			add("Duplicate sha256", fmt.Sprintf("The api_key %q has the same sha256 as api_key %q; each key must be different.", k.Name, other), k.SHA256Range)
		} else {
			hashes[strings.ToLower(k.SHA256)] = k.Name
		}
		if k.Role == "" {
			add("Invalid role", fmt.Sprintf("The role of api_key %q is empty; use \"superadmin\" or another role name.", k.Name), k.RoleRange)
		}
	}
	return diags
}

// CheckListen checks a host:port listen address without resolving it: the
// port is a number from 0 to 65535 (0 picks a free one) and the host is
// empty (all interfaces), an IP address or a DNS name. The error completes
// the sentence "The listen address ... ".
func CheckListen(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return errors.New("is not host:port")
	}
	n, err := strconv.Atoi(port)
	if err != nil || port != strconv.Itoa(n) || n < 0 || n > 65535 {
		return fmt.Errorf("has port %q, which is not a port number from 1 to 65535 (or 0 for a free port)", port)
	}
	if host == "" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if !validHostname(host) {
		return fmt.Errorf("has host %q, which is neither an IP address nor a host name", host)
	}
	return nil
}

// validHostname reports whether h is a DNS name: dot-separated labels of
// letters, digits and inner hyphens, at most 253 characters.
func validHostname(h string) bool {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return false
	}
	for label := range strings.SplitSeq(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// positiveDuration parses a duration that must be above zero.
func positiveDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	if d <= 0 {
		return 0, fmt.Errorf("duration %q is not positive", s)
	}
	return d, nil
}

// FilesRead returns the files the server reads when it starts: the TLS
// certificate and key, when set. The agent restarts the query API on a
// reload when one of them changed.
func (c Config) FilesRead() []string {
	if c.TLSCertFile == "" {
		return nil
	}
	return []string{c.TLSCertFile, c.TLSKeyFile}
}

// LoadTLS reads the TLS certificate and key and returns the server's TLS
// settings (TLS 1.2 at least), or nil, nil when TLS is not configured. The
// error names both files.
func (c Config) LoadTLS() (*tls.Config, error) {
	if c.TLSCertFile == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(c.TLSCertFile, c.TLSKeyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS key pair %q, %q: %w", c.TLSCertFile, c.TLSKeyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
