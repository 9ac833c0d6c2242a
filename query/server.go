package query

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
)

// MinSuperadminKeyLen is the shortest [Options.SuperadminKey] New accepts.
const MinSuperadminKeyLen = 16

// maxFailureIPs bounds how many remote addresses the failed-authentication
// limiter tracks at once.
const maxFailureIPs = 10000

// shutdownTimeout bounds how long Run waits for requests in flight once its
// context ends.
const shutdownTimeout = 5 * time.Second

// Options are the parts of a Server that do not come from agent.hcl.
type Options struct {
	// SuperadminKey is a key with role superadmin and key_name "superadmin",
	// from AUDITSHIP_SUPERADMIN_KEY or [LoadOrCreateKey]; "" means none. It
	// must have at least [MinSuperadminKeyLen] characters.
	SuperadminKey string
	// CursorSecret signs cursors. Empty: derived from SuperadminKey, so
	// cursors survive restarts; with no SuperadminKey either, a random secret
	// per Server (cursors then die with the process).
	CursorSecret []byte
	// OnRead, if not nil, is called for every successful GET /audit-logs with
	// the audit_log/read event of that read, before the response is written.
	// It returns once the event is durably stored; an error means the read
	// could not be audited, and the client gets 503 instead of the events, so
	// no read is ever served unaudited. It runs on the request's goroutine and
	// may be called concurrently.
	OnRead func(ctx context.Context, e event.Event) error
	// OnRefused, if not nil, is called with the status of every refused
	// request (401, 403, 429), also those whose log line is suppressed. It
	// runs on the request's goroutine and may be called concurrently.
	OnRefused func(status int)
	// Log receives request failures and lifecycle messages; nil discards.
	Log *slog.Logger
}

// apiKey is a configured or superadmin key, held only as its hash.
type apiKey struct {
	name    string
	role    string
	hash    []byte // SHA-256 of the key
	limiter *rate.Limiter
}

// Server serves GET /audit-logs and GET /healthz on top of an
// [outputs.Searcher]. Create it with [New]; Run it once.
type Server struct {
	cfg     Config
	search  outputs.Searcher
	onRead  func(context.Context, event.Event) error
	refused func(status int) // Options.OnRefused; nil: none
	log     *slog.Logger
	keys    []apiKey
	cursors cursorCodec
	readTO  time.Duration
	writeTO time.Duration
	handler http.Handler

	ready chan struct{} // closed once listening
	mu    sync.Mutex
	addr  string

	// failures limits requests without a valid key per remote IP, so
	// scanners cannot send bad keys at full speed. A request with a valid
	// key is never refused by it, however many bad keys its address sent:
	// behind a reverse proxy every client shares one address, and a
	// scanner must not lock the administrators out. That does not help
	// guessing: keys are high-entropy (the superadmin key has at least
	// MinSuperadminKeyLen characters; generated keys are 32 random bytes)
	// and are checked in constant time (see authenticate).
	failMu   sync.Mutex
	failures map[string]*rate.Limiter

	// refusals rate-limits the log lines of refused requests per remote IP.
	refMu    sync.Mutex
	refusals map[string]*refusalEntry

	now func() time.Time // the clock; tests replace it
}

// refusalLogEvery is the shortest time between two log lines about refused
// requests from one remote address.
const refusalLogEvery = time.Minute

// refusalEntry is the log state of one remote address.
type refusalEntry struct {
	at         time.Time // when its last line was written
	suppressed int       // refusals not logged since
}

// New checks c (it must pass [Config.Validate]) and builds a Server over s.
// It does no I/O.
func New(c Config, s outputs.Searcher, o Options) (*Server, error) {
	if diags := c.Validate(); diags.HasErrors() {
		return nil, fmt.Errorf("query config: %w", diags)
	}
	if s == nil {
		return nil, errors.New("query server: nil searcher")
	}
	if o.SuperadminKey != "" && len(o.SuperadminKey) < MinSuperadminKeyLen {
		return nil, fmt.Errorf("super-admin key too short: use at least %d characters, e.g. auditship keygen", MinSuperadminKeyLen)
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	srv := &Server{
		cfg:     c,
		search:  s,
		onRead:  o.OnRead,
		refused: o.OnRefused,
		log:     log.With("component", "query"),
		ready:   make(chan struct{}),

		failures: map[string]*rate.Limiter{},
		refusals: map[string]*refusalEntry{},
		now:      time.Now,
	}
	srv.readTO, _ = positiveDuration(c.ReadTimeout)
	srv.writeTO, _ = positiveDuration(c.WriteTimeout)
	newLimiter := func() *rate.Limiter { return rate.NewLimiter(rate.Limit(c.RateLimit), c.RateBurst) }
	if o.SuperadminKey != "" {
		h := sha256.Sum256([]byte(o.SuperadminKey))
		srv.keys = append(srv.keys, apiKey{name: SuperadminKeyName, role: RoleSuperadmin, hash: h[:], limiter: newLimiter()})
	}
	for _, k := range c.APIKeys {
		h, _ := hex.DecodeString(k.SHA256) // checked by Validate
		srv.keys = append(srv.keys, apiKey{name: k.Name, role: k.Role, hash: h, limiter: newLimiter()})
	}
	switch {
	case len(o.CursorSecret) > 0:
		srv.cursors.secret = bytes.Clone(o.CursorSecret)
	case o.SuperadminKey != "":
		srv.cursors.secret = deriveCursorSecret(o.SuperadminKey)
	default:
		srv.cursors.secret = make([]byte, 32)
		if _, err := rand.Read(srv.cursors.secret); err != nil {
			return nil, fmt.Errorf("generate cursor secret: %w", err)
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/audit-logs", srv.serveAuditLogs)
	mux.HandleFunc("/healthz", srv.serveHealthz)
	mux.HandleFunc("/openapi.json", serveOpenAPI)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "no such endpoint; use GET /audit-logs")
	})
	srv.handler = srv.recoverPanics(mux)
	return srv, nil
}

// Handler returns the HTTP handler of the API, for tests and for mounting in
// another server.
func (s *Server) Handler() http.Handler { return s.handler }

// Ready returns a channel closed once Run is listening; [Server.Addr] is then
// set. If Run fails to listen the channel is never closed, so wait on Run's
// result too.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr returns the address Run listens on ("127.0.0.1:41234"), or "" before
// it listens. With listen port 0 this is the port picked.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Run listens on the configured address and serves until ctx ends, then
// shuts down, giving requests in flight up to 5 seconds. A listen failure
// (port in use, bad TLS files) is returned at once. Run returns nil after a
// normal shutdown. Call it at most once.
func (s *Server) Run(ctx context.Context) error {
	tlsConf, err := s.cfg.LoadTLS()
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %q: %w", s.cfg.Listen, err)
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	hs := &http.Server{
		Handler:           s.handler,
		ReadTimeout:       s.readTO,
		ReadHeaderTimeout: s.readTO,
		WriteTimeout:      s.writeTO,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	s.mu.Lock()
	s.addr = ln.Addr().String()
	s.mu.Unlock()
	close(s.ready)
	s.log.Info("query server listening", "address", s.Addr(), "tls", tlsConf != nil)

	errc := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() { errc <- hs.Serve(ln) })
	defer wg.Wait()
	select {
	case err := <-errc:
		return fmt.Errorf("serve on %q: %w", s.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	err = hs.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		_ = hs.Close()
		return fmt.Errorf("shut down query server: %w", err)
	}
	s.log.Info("query server stopped")
	return nil
}

// apiError is the JSON body of every error response.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// writeError sends a JSON error with a stable code and a message for people.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	b, _ := json.Marshal(apiError{Error: code, Message: msg})
	_, _ = w.Write(append(b, '\n'))
}

// recoverPanics turns a handler panic into a 500 without a stack trace in
// the body.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("request handler panicked", "error", fmt.Sprint(v), "path", r.URL.Path)
				writeError(w, http.StatusInternalServerError, "internal", "internal error")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func (s *Server) serveHealthz(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method "+r.Method+" is not allowed; use GET")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte(`{"status":"ok"}` + "\n"))
}

// authenticate finds the key of the request's bearer token. It compares the
// token's SHA-256 with every known hash in constant time, without stopping
// at a match, so timing tells nothing about which keys exist.
func (s *Server) authenticate(r *http.Request) (*apiKey, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return nil, false
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, false
	}
	sum := sha256.Sum256([]byte(token))
	found := -1
	for i := range s.keys {
		if subtle.ConstantTimeCompare(sum[:], s.keys[i].hash) == 1 {
			found = i
		}
	}
	if found < 0 {
		return nil, true
	}
	return &s.keys[found], true
}

func (s *Server) serveAuditLogs(w http.ResponseWriter, r *http.Request) {
	// now is the pin of an ascending pager that starts here: taken before
	// the search and before this read's own audit event is made.
	now := s.now()
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", "GET")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "method "+r.Method+" is not allowed; use GET")
		return
	}
	if n := len(r.Header.Values("Authorization")); n > 1 {
		// RFC 9110: Authorization is not a list; which one to believe is
		// ambiguous, so believe none.
		writeError(w, http.StatusBadRequest, "bad_request", fmt.Sprintf("%d Authorization headers; send exactly one: Authorization: Bearer <key>", n))
		return
	}
	ip := remoteIP(r.RemoteAddr)
	key, given := s.authenticate(r)
	if key == nil {
		// Only requests without a valid key spend, and are refused by, the
		// address's budget: see Server.failures.
		if wait := s.recordFailure(ip); wait > 0 {
			s.logRefused(r, http.StatusTooManyRequests, "too many requests without a valid API key from this address", "")
			tooManyFailures(w, wait)
			return
		}
	}
	switch {
	case !given:
		s.logRefused(r, http.StatusUnauthorized, "missing API key", "")
		w.Header().Set("WWW-Authenticate", `Bearer realm="auditship"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "missing API key; send Authorization: Bearer <key>")
		return
	case key == nil:
		s.logRefused(r, http.StatusUnauthorized, "unknown API key", "")
		w.Header().Set("WWW-Authenticate", `Bearer realm="auditship", error="invalid_token"`)
		writeError(w, http.StatusUnauthorized, "unauthorized", "unknown API key")
		return
	case key.role != RoleSuperadmin:
		s.logRefused(r, http.StatusForbidden, "role "+key.role+" may not read audit logs", key.name)
		writeError(w, http.StatusForbidden, "forbidden", "API key "+strconv.Quote(key.name)+" has role "+strconv.Quote(key.role)+"; reading audit logs needs role superadmin")
		return
	}
	if res := key.limiter.Reserve(); res.Delay() > 0 {
		wait := res.Delay()
		res.Cancel() // a refused request must not use up the next token
		s.logRefused(r, http.StatusTooManyRequests, "rate limit of the API key", key.name)
		w.Header().Set("Retry-After", retryAfter(wait))
		writeError(w, http.StatusTooManyRequests, "rate_limited", "too many requests for API key "+strconv.Quote(key.name)+"; retry later")
		return
	}
	params, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", "the query string is malformed; encode parameters as name=value pairs joined by &")
		return
	}
	req, err := parseParams(params, s.cursors)
	if err != nil {
		writeError(w, http.StatusBadRequest, "bad_request", err.Error())
		return
	}
	q := req.search(now)
	var evs []event.Event
	if !req.endZero { // end_time 0001-01-01T00:00:00Z: nothing is before it
		evs, err = s.search.Search(r.Context(), q)
	}
	switch {
	case errors.Is(err, outputs.ErrUnavailable):
		s.log.Warn("audit log search failed", "error", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "the event store is unavailable; retry later")
		return
	case err != nil:
		s.log.Error("audit log search failed", "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	if evs == nil {
		evs = []event.Event{}
	}
	body, err := json.Marshal(evs)
	if err != nil {
		s.log.Error("encode audit log response", "error", err)
		writeError(w, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	if s.onRead != nil {
		if err := s.onRead(r.Context(), readEvent(key.name, params, len(evs), r.RemoteAddr)); err != nil {
			s.log.Error("read not served: its audit event could not be recorded", "error", err)
			writeError(w, http.StatusServiceUnavailable, "unavailable", "the read could not be audited; retry later")
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if len(evs) == q.Limit {
		last := evs[len(evs)-1]
		next := req
		c := cursorToken{pos: outputs.Cursor{Time: last.Time, ID: last.ID}, order: q.Order}
		switch {
		case req.cursor != nil && !req.cursor.pin.IsZero():
			c.pin = req.cursor.pin // keep the first page's pin
		case q.Order == outputs.Asc && req.q.End.IsZero(): // no end_time: q.End is the pin
			// Events stored from now on (this read's own audit event
			// among them) are after the pin: paging ends.
			c.pin = now
		}
		next.cursor = &c
		v := encodeParams(next, s.cursors)
		h.Set("X-Next-Cursor", v.Get("cursor"))
		h.Set("Link", "</audit-logs?"+v.Encode()+`>; rel="next"`)
	}
	_, _ = w.Write(append(body, '\n'))
	s.log.Debug("audit logs read", "key_name", key.name, "count", len(evs))
}

// logRefused logs a 401, 403 or 429 at level warn: status, remote address,
// reason and, for a known key, its name; never key material. It writes at
// most one line per remote address per refusalLogEvery, with the number of
// refusals from that address left unlogged since its previous line
// (suppressed), so a scanner cannot flood the log.
func (s *Server) logRefused(r *http.Request, status int, reason, keyName string) {
	if s.refused != nil {
		s.refused(status)
	}
	ip := remoteIP(r.RemoteAddr)
	now := s.now()
	s.refMu.Lock()
	e, ok := s.refusals[ip]
	if ok && now.Sub(e.at) < refusalLogEvery {
		e.suppressed++
		s.refMu.Unlock()
		return
	}
	suppressed := 0
	if ok {
		suppressed = e.suppressed
	} else {
		if len(s.refusals) >= maxFailureIPs {
			for k, old := range s.refusals {
				if now.Sub(old.at) >= refusalLogEvery {
					delete(s.refusals, k)
				}
			}
			if len(s.refusals) >= maxFailureIPs {
				clear(s.refusals)
			}
		}
		e = &refusalEntry{}
		s.refusals[ip] = e
	}
	e.at, e.suppressed = now, 0
	s.refMu.Unlock()
	attrs := []any{"status", status, "remote_addr", ip, "reason", reason}
	if keyName != "" {
		attrs = append(attrs, "key_name", keyName)
	}
	attrs = append(attrs, "suppressed", suppressed)
	s.log.Warn("request refused", attrs...)
}

// remoteIP returns the host part of a request's RemoteAddr.
func remoteIP(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// retryAfter renders wait as whole seconds, at least 1, for Retry-After.
func retryAfter(wait time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(wait.Seconds()))))
}

// tooManyFailures answers a request from an address that sent too many
// requests without a valid key.
func tooManyFailures(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", retryAfter(wait))
	writeError(w, http.StatusTooManyRequests, "rate_limited", "too many requests without a valid API key from this address; retry later")
}

// recordFailure spends one failed-authentication token of ip. It returns 0
// when there was one, or how long to wait when there was none.
func (s *Server) recordFailure(ip string) time.Duration {
	s.failMu.Lock()
	defer s.failMu.Unlock()
	l, ok := s.failures[ip]
	if !ok {
		if len(s.failures) >= maxFailureIPs {
			s.pruneFailures()
		}
		l = rate.NewLimiter(rate.Limit(s.cfg.RateLimit), s.cfg.RateBurst)
		s.failures[ip] = l
	}
	res := l.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return d
	}
	return 0
}

// pruneFailures forgets addresses whose limiter is full again, and all of
// them if that frees nothing. s.failMu must be held.
func (s *Server) pruneFailures() {
	for ip, l := range s.failures {
		if l.Tokens() >= float64(l.Burst()) {
			delete(s.failures, ip)
		}
	}
	if len(s.failures) >= maxFailureIPs {
		clear(s.failures)
	}
}

// readEvent builds the audit_log/read event recording one successful read.
func readEvent(keyName string, params map[string][]string, count int, remote string) event.Event {
	p := make(map[string]any, len(params))
	for k, vals := range params {
		l := make([]any, len(vals))
		for i, v := range vals {
			l[i] = v
		}
		p[k] = l
	}
	remote = remoteIP(remote)
	return event.Event{
		ID:   randomID(),
		Time: time.Now().UTC(),
		Name: "audit_log",
		Type: "read",
		Details: map[string]any{
			"key_name":     keyName,
			"parameters":   p,
			"result_count": json.Number(strconv.Itoa(count)),
			"remote_addr":  remote,
		},
		UserUID: 0,
	}
}

// randomID returns a random event_id from 1 to 2^63-1.
func randomID() int64 {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	id := int64(binary.BigEndian.Uint64(b[:]) & math.MaxInt64)
	if id == 0 {
		id = 1
	}
	return id
}
