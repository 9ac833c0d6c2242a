package elasticsearch

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"

	"github.com/auditship/auditship/outputs"
)

// Output ships events to Elasticsearch with the bulk API and reads them back
// through the alias. It implements [outputs.Output], [outputs.Opener] and
// [outputs.Searcher]. Write is not safe for concurrent use (the agent never
// calls it concurrently); Search is.
type Output struct {
	cfg     Config
	alias   string
	timeout time.Duration
	log     *slog.Logger

	mu      sync.Mutex
	client  *es.Client      // nil until Open
	tr      *http.Transport // client's transport
	ready   bool            // Open's checks passed (else Write and Search do them first)
	indexes map[string]bool // concrete indexes created and aliased by this process
	// bodyLimit is the most bytes of one bulk request: flush_bytes, or less
	// once the server answered 413 (see lowerBodyLimit).
	bodyLimit int
}

var (
	_ outputs.Output   = (*Output)(nil)
	_ outputs.Opener   = (*Output)(nil)
	_ outputs.Searcher = (*Output)(nil)
)

// errNotOpen is returned by Write and Search before Open succeeded.
var errNotOpen = errors.New("elasticsearch output is not open")

// New validates c and returns an Output. It does no I/O: secrets and
// certificates are read, and the cluster contacted, by [Output.Open].
func New(c Config, log *slog.Logger) (*Output, error) {
	if diags := c.Validate(); diags.HasErrors() {
		return nil, fmt.Errorf("elasticsearch config: %s", diags.Error())
	}
	d, _ := time.ParseDuration(c.RequestTimeout)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Output{
		cfg:       c,
		alias:     c.alias(),
		timeout:   d,
		log:       log.With("component", "output", "output_type", "elasticsearch"),
		indexes:   map[string]bool{},
		bodyLimit: c.FlushBytes,
	}, nil
}

// Open reads the credentials, checks that the cluster answers and accepts
// them, then installs the index template (or checks that an existing one is
// compatible). Credentials that cannot be read, a cluster that refuses
// them and an incompatible template are errors that say which went wrong.
// A cluster that cannot be reached (no answer, or 502, 503 or 504) is not:
// Open logs a warning and returns nil, and Write and Search do the checks
// first, failing (retryably for the agent) until the cluster answers, so
// the agent starts, and reloads, while Elasticsearch is down. Open is
// idempotent.
func (o *Output) Open(ctx context.Context) error {
	c, tr, err := o.newClient()
	if err != nil {
		return err
	}
	err = o.setup(ctx, c)
	if err != nil && !errors.Is(err, outputs.ErrUnavailable) {
		tr.CloseIdleConnections()
		return err
	}
	o.mu.Lock()
	old := o.tr
	o.client, o.tr, o.ready = c, tr, err == nil
	o.mu.Unlock()
	if old != nil {
		old.CloseIdleConnections()
	}
	if err != nil {
		o.log.Warn("elasticsearch unreachable; writes wait and retry until it answers", "error", err)
		return nil
	}
	o.log.Info("output opened", "index", o.cfg.IndexPrefix+"-*", "alias", o.alias)
	return nil
}

// setup pings the cluster and installs or checks the index template.
func (o *Output) setup(ctx context.Context, c *es.Client) error {
	if err := ping(ctx, c, o.timeout, o.cfg.Addresses); err != nil {
		return err
	}
	return ensureTemplate(ctx, c, o.timeout, o.cfg.IndexPrefix, o.alias)
}

// readyClient returns the client once Open's checks have passed, doing
// them now when the cluster was unreachable until then.
func (o *Output) readyClient(ctx context.Context) (*es.Client, error) {
	c, err := o.getClient()
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	ready := o.ready
	o.mu.Unlock()
	if ready {
		return c, nil
	}
	if err := o.setup(ctx, c); err != nil {
		return nil, err
	}
	o.mu.Lock()
	o.ready = true
	o.mu.Unlock()
	o.log.Info("output opened: elasticsearch answers", "index", o.cfg.IndexPrefix+"-*", "alias", o.alias)
	return c, nil
}

// Setup installs or checks the index template for c, as `auditship setup`
// does: what [Output.Open] checks, failing also when the cluster cannot be
// reached, without keeping a client.
func Setup(ctx context.Context, c Config, log *slog.Logger) error {
	o, err := New(c, log)
	if err != nil {
		return err
	}
	cl, tr, err := o.newClient()
	if err != nil {
		return err
	}
	defer tr.CloseIdleConnections()
	return o.setup(ctx, cl)
}

var _ outputs.Concurrent = (*Output)(nil)

// MaxInflightBatches implements [outputs.Concurrent]: Write is safe for
// concurrent use, and the agent may write two consecutive batches at once.
func (o *Output) MaxInflightBatches() int { return 2 }

// Close releases idle connections. Write is synchronous, so there is
// nothing to flush; Close returns ctx.Err() if ctx has already ended.
func (o *Output) Close(ctx context.Context) error {
	o.mu.Lock()
	c, tr := o.client, o.tr
	o.client, o.tr = nil, nil
	o.mu.Unlock()
	if c != nil {
		_ = c.Close(ctx)
		tr.CloseIdleConnections()
	}
	return ctx.Err()
}

func (o *Output) getClient() (*es.Client, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.client == nil {
		return nil, errNotOpen
	}
	return o.client, nil
}

// newClient reads the secrets and certificates and builds a client that
// makes exactly one attempt per request: retries belong to the caller.
func (o *Output) newClient() (*es.Client, *http.Transport, error) {
	c := o.cfg
	cfg := es.Config{
		Addresses:    c.Addresses,
		Username:     c.Username,
		DisableRetry: true,
	}
	var err error
	if cfg.Password, err = secret("password", c.PasswordEnv, c.PasswordFile); err != nil {
		return nil, nil, err
	}
	if cfg.APIKey, err = secret("api key", c.APIKeyEnv, c.APIKeyFile); err != nil {
		return nil, nil, err
	}
	tlsCfg := &tls.Config{InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // opt-in, documented as test-only
	if c.CACertFile != "" {
		pem, err := os.ReadFile(c.CACertFile)
		if err != nil {
			return nil, nil, fmt.Errorf("read ca_cert_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("read ca_cert_file %q: no PEM certificate found", c.CACertFile)
		}
		tlsCfg.RootCAs = pool
	}
	if c.ClientCertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.ClientCertFile, c.ClientKeyFile)
		if err != nil {
			return nil, nil, fmt.Errorf("load client certificate: %w", err)
		}
		tlsCfg.Certificates = []tls.Certificate{cert}
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsCfg,
		TLSHandshakeTimeout:   10 * time.Second,
		MaxIdleConnsPerHost:   c.Concurrency + 2,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: o.timeout,
	}
	cfg.Transport = tr
	client, err := es.NewClient(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("create elasticsearch client: %w", err)
	}
	return client, tr, nil
}

// secret reads a credential from the environment variable env or the file
// path; both empty gives "".
func secret(what, env, path string) (string, error) {
	switch {
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return "", fmt.Errorf("read %s: environment variable %q is not set", what, env)
		}
		return v, nil
	case path != "":
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("read %s: %w", what, err)
		}
		v := strings.TrimSpace(string(b))
		if v == "" {
			return "", fmt.Errorf("read %s: file %q is empty", what, path)
		}
		return v, nil
	}
	return "", nil
}

// response is a whole HTTP answer, body read.
type response struct {
	Status int
	Body   []byte
}

// do sends one request with its own timeout and reads the whole answer. A
// transport failure wraps [outputs.ErrUnavailable].
func do(ctx context.Context, c *es.Client, timeout time.Duration, method, path string, body []byte) (response, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
		if strings.HasPrefix(path, "/_bulk") {
			req.Header.Set("Content-Type", "application/x-ndjson")
		}
	}
	res, err := c.Perform(req)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: %w: %w", method, path, outputs.ErrUnavailable, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return response{}, fmt.Errorf("%s %s: read answer: %w: %w", method, path, outputs.ErrUnavailable, err)
	}
	return response{Status: res.StatusCode, Body: b}, nil
}

// ping checks that the cluster answers and accepts the credentials.
func ping(ctx context.Context, c *es.Client, timeout time.Duration, addrs []string) error {
	res, err := do(ctx, c, timeout, http.MethodGet, "/", nil)
	where := make([]string, len(addrs))
	for i, a := range addrs {
		where[i] = redactURL(a)
	}
	if err != nil {
		return fmt.Errorf("connect to elasticsearch at %s: %w", strings.Join(where, ", "), err)
	}
	switch {
	case res.Status == http.StatusBadGateway || res.Status == http.StatusServiceUnavailable || res.Status == http.StatusGatewayTimeout:
		return fmt.Errorf("connect to elasticsearch at %s: %w: %w", strings.Join(where, ", "), outputs.ErrUnavailable, statusError(res))
	case res.Status >= 300:
		return fmt.Errorf("connect to elasticsearch at %s: %w", strings.Join(where, ", "), statusError(res))
	}
	return nil
}

// Verified reports whether the last Open, or a write or search since, got
// the cluster's answer to the credentials and checked the template; false
// while the cluster has not answered (Open then only warned). Safe for
// concurrent use.
func (o *Output) Verified() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.ready
}
