package elasticsearch

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Config is the body of an output "elasticsearch" block. Secrets are read only
// from the environment or from files, never from the config itself, and are
// never logged.
type Config struct {
	// Addresses are the base URLs of the cluster's nodes, such as
	// "https://es1:9200" (a path prefix is kept: "http://127.0.0.1:4080/es").
	// Required. A URL must not carry a password: use password_env or
	// password_file.
	Addresses []string `hcl:"addresses"`
	// Username for HTTP basic authentication. Default: none.
	Username string `hcl:"username,optional"`
	// PasswordEnv names the environment variable holding the basic-auth
	// password. At most one of password_env and password_file.
	PasswordEnv string `hcl:"password_env,optional"`
	// PasswordFile is a file holding the basic-auth password (surrounding
	// white space is ignored).
	PasswordFile string `hcl:"password_file,optional"`
	// APIKeyEnv names the environment variable holding a base64 API key (the
	// "encoded" value Elasticsearch returns). Excludes username.
	APIKeyEnv string `hcl:"api_key_env,optional"`
	// APIKeyFile is a file holding a base64 API key.
	APIKeyFile string `hcl:"api_key_file,optional"`
	// CACertFile is a PEM file of the certificate authorities to trust
	// instead of the system pool.
	CACertFile string `hcl:"ca_cert_file,optional"`
	// ClientCertFile and ClientKeyFile are a PEM certificate and key for
	// TLS client authentication; both or neither.
	ClientCertFile string `hcl:"client_cert_file,optional"`
	ClientKeyFile  string `hcl:"client_key_file,optional"`
	// InsecureSkipVerify turns off TLS certificate verification. Default
	// false; for tests only.
	InsecureSkipVerify bool `hcl:"insecure_skip_verify,optional"`
	// IndexPrefix names the indexes: events go to "<index_prefix>-YYYY.MM"
	// by the UTC month of event_time. Default "audit-logs". The index
	// template is named after it too.
	IndexPrefix string `hcl:"index_prefix,optional"`
	// Alias is the alias that covers every monthly index; searches read it.
	// Default: the value of index_prefix.
	Alias string `hcl:"alias,optional"`
	// FlushEvents is the most events in one bulk request; a larger batch is
	// split. Default 1000. A batch is split below it too, into concurrency
	// requests of about equal size (at least 100 events each).
	FlushEvents int `hcl:"flush_events,optional"`
	// FlushBytes is the most bytes of one bulk request body; a larger batch
	// is split (one event larger than this is still sent, alone). Default
	// 5000000.
	FlushBytes int `hcl:"flush_bytes,optional"`
	// Concurrency is how many bulk requests of one batch are in flight at
	// once, and how many requests a batch is split into at least (parts of
	// at least 100 events). Default 2.
	Concurrency int `hcl:"concurrency,optional"`
	// RequestTimeout bounds each HTTP request, as a duration. Default "30s".
	RequestTimeout string `hcl:"request_timeout,optional"`

	AddressesRange      hcl.Range `hcl:"addresses,attr_value_range"`
	UsernameRange       hcl.Range `hcl:"username,attr_value_range"`
	PasswordEnvRange    hcl.Range `hcl:"password_env,attr_value_range"`
	PasswordFileRange   hcl.Range `hcl:"password_file,attr_value_range"`
	APIKeyEnvRange      hcl.Range `hcl:"api_key_env,attr_value_range"`
	APIKeyFileRange     hcl.Range `hcl:"api_key_file,attr_value_range"`
	ClientCertFileRange hcl.Range `hcl:"client_cert_file,attr_value_range"`
	ClientKeyFileRange  hcl.Range `hcl:"client_key_file,attr_value_range"`
	IndexPrefixRange    hcl.Range `hcl:"index_prefix,attr_value_range"`
	AliasRange          hcl.Range `hcl:"alias,attr_value_range"`
	FlushEventsRange    hcl.Range `hcl:"flush_events,attr_value_range"`
	FlushBytesRange     hcl.Range `hcl:"flush_bytes,attr_value_range"`
	ConcurrencyRange    hcl.Range `hcl:"concurrency,attr_value_range"`
	RequestTimeoutRange hcl.Range `hcl:"request_timeout,attr_value_range"`

	// Block is the range of the output block's header; the caller sets it
	// (from its def_range) so that diagnostics about absent keys point
	// somewhere. Not decoded from HCL.
	Block hcl.Range
}

// Defaults of [Config].
const (
	DefaultIndexPrefix    = "audit-logs"
	DefaultFlushEvents    = 1000
	DefaultFlushBytes     = 5_000_000
	DefaultConcurrency    = 2
	DefaultRequestTimeout = "30s"
)

// DefaultConfig returns the defaults: index_prefix "audit-logs" (alias the
// same), flush_events 1000, flush_bytes 5000000, concurrency 2,
// request_timeout "30s", insecure_skip_verify false. Addresses has no
// default.
func DefaultConfig() Config {
	return Config{
		IndexPrefix:    DefaultIndexPrefix,
		FlushEvents:    DefaultFlushEvents,
		FlushBytes:     DefaultFlushBytes,
		Concurrency:    DefaultConcurrency,
		RequestTimeout: DefaultRequestTimeout,
	}
}

// indexNameRE is the subset of Elasticsearch index and alias names we
// accept: lowercase, starting with a letter or digit, no wildcards.
var indexNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,200}$`)

// Validate checks the values without doing I/O (it does not read the
// secret files or the environment) and returns every problem.
func (c *Config) Validate() hcl.Diagnostics {
	var diags hcl.Diagnostics
	add := func(summary, detail string, rng hcl.Range) {
		if rng == (hcl.Range{}) {
			rng = c.Block
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: rng.Ptr(),
		})
	}
	if len(c.Addresses) == 0 {
		add("Missing addresses", `The addresses list is empty; give at least one URL such as "https://127.0.0.1:9200".`, c.AddressesRange)
	}
	for _, a := range c.Addresses {
		u, err := url.Parse(a)
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
			add("Invalid addresses", fmt.Sprintf("The address %q is not an http or https URL with a host, such as \"https://127.0.0.1:9200\".", redactURL(a)), c.AddressesRange)
		case u.User != nil:
			if _, has := u.User.Password(); has {
				add("Invalid addresses", fmt.Sprintf("The address %q carries a password; put the user in username and the password in password_env or password_file.", redactURL(a)), c.AddressesRange)
			}
		}
	}
	if c.PasswordEnv != "" && c.PasswordFile != "" {
		add("Conflicting password", "Only one of password_env and password_file may be set.", c.PasswordFileRange)
	}
	if c.APIKeyEnv != "" && c.APIKeyFile != "" {
		add("Conflicting api_key", "Only one of api_key_env and api_key_file may be set.", c.APIKeyFileRange)
	}
	hasPassword := c.PasswordEnv != "" || c.PasswordFile != ""
	hasKey := c.APIKeyEnv != "" || c.APIKeyFile != ""
	if hasPassword && c.Username == "" {
		rng := c.PasswordEnvRange
		if c.PasswordEnv == "" {
			rng = c.PasswordFileRange
		}
		add("Missing username", "A password is configured but username is empty; set username for basic authentication.", rng)
	}
	if hasKey && (c.Username != "" || hasPassword) {
		add("Conflicting credentials", "Use either an API key (api_key_env or api_key_file) or basic authentication (username and a password), not both.", c.UsernameRange)
	}
	if (c.ClientCertFile == "") != (c.ClientKeyFile == "") {
		rng := c.ClientCertFileRange
		if c.ClientCertFile == "" {
			rng = c.ClientKeyFileRange
		}
		add("Incomplete client certificate", "client_cert_file and client_key_file must be set together.", rng)
	}
	if !indexNameRE.MatchString(c.IndexPrefix) {
		add("Invalid index_prefix", fmt.Sprintf("The index_prefix %q is not a valid index name start: use lowercase letters, digits, '_', '-' and '.', starting with a letter or digit.", c.IndexPrefix), c.IndexPrefixRange)
	}
	if c.Alias != "" && !indexNameRE.MatchString(c.Alias) {
		add("Invalid alias", fmt.Sprintf("The alias %q is not a valid alias name: use lowercase letters, digits, '_', '-' and '.', starting with a letter or digit.", c.Alias), c.AliasRange)
	}
	if c.FlushEvents <= 0 {
		add("Invalid flush_events", fmt.Sprintf("flush_events = %d must be a positive number of events.", c.FlushEvents), c.FlushEventsRange)
	}
	if c.FlushBytes <= 0 {
		add("Invalid flush_bytes", fmt.Sprintf("flush_bytes = %d must be a positive number of bytes.", c.FlushBytes), c.FlushBytesRange)
	}
	if c.Concurrency <= 0 {
		add("Invalid concurrency", fmt.Sprintf("concurrency = %d must be a positive number of requests.", c.Concurrency), c.ConcurrencyRange)
	}
	if d, err := time.ParseDuration(c.RequestTimeout); err != nil || d <= 0 {
		add("Invalid request_timeout", fmt.Sprintf("The request_timeout %q is not a positive duration such as \"30s\".", c.RequestTimeout), c.RequestTimeoutRange)
	}
	return diags
}

// alias returns the read alias: Alias, or IndexPrefix when empty.
func (c *Config) alias() string {
	if c.Alias != "" {
		return c.Alias
	}
	return c.IndexPrefix
}

// redactURL hides the password of a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		if i := strings.LastIndex(s, "@"); i >= 0 {
			return "…@" + s[i+1:]
		}
		return s
	}
	return u.Redacted()
}

// FilesRead returns the files [Output.Open] reads, in a fixed order: the
// password or API key file and the PEM files that are set. The agent
// restarts its outputs on a reload when one of them changed.
func (c Config) FilesRead() []string {
	var out []string
	for _, f := range []string{c.PasswordFile, c.APIKeyFile, c.CACertFile, c.ClientCertFile, c.ClientKeyFile} {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}
