package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/auditship/auditship/agent/config"
)

// health is what /readyz reports on: whether a delivery side runs and, per
// output, since when its writes have been failing.
type health struct {
	mu      sync.Mutex
	up      bool
	failing map[string]time.Time // output name → first failure of the current run of failures
	dlErr   error                // why the dead-letter file cannot be written; nil when it can
}

// setDeadLetter records whether the dead-letter file can be written: err is
// the last sync's error, nil once a sync succeeded.
func (h *health) setDeadLetter(err error) {
	h.mu.Lock()
	h.dlErr = err
	h.mu.Unlock()
}

func newHealth() *health { return &health{failing: map[string]time.Time{}} }

func (h *health) setUp(up bool) {
	h.mu.Lock()
	h.up = up
	h.mu.Unlock()
}

func (h *health) writeOK(output string) {
	h.mu.Lock()
	delete(h.failing, output)
	h.mu.Unlock()
}

func (h *health) writeFailed(output string) {
	h.mu.Lock()
	if _, ok := h.failing[output]; !ok {
		h.failing[output] = time.Now()
	}
	h.mu.Unlock()
}

// readiness is the body of /readyz.
type readiness struct {
	Status string            `json:"status"` // "ok" or "unavailable"
	Checks map[string]string `json:"checks"` // check name → "ok" or why not
}

// Readiness reports whether the agent is ready: a delivery side runs, no
// output's writes have been failing for longer than http.ready_failing_after,
// the dead-letter file can be written, and the input lag is within
// http.ready_max_lag_bytes (when set). The map says, per check ("pipeline",
// "output <name>", "dead_letter", "lag"), "ok" or why not.
func (a *Agent) Readiness() (bool, map[string]string) {
	cfg := a.currentConfig()
	checks := map[string]string{}
	ok := true
	bad := func(name, why string) { checks[name] = why; ok = false }

	a.health.mu.Lock()
	up, dlErr := a.health.up, a.health.dlErr
	failing := map[string]time.Time{}
	for k, v := range a.health.failing {
		failing[k] = v
	}
	a.health.mu.Unlock()
	if up {
		checks["pipeline"] = "ok"
	} else {
		bad("pipeline", "not running")
	}
	for _, o := range cfg.Outputs {
		name := "output " + o.Name
		since, f := failing[o.Name]
		switch {
		case !f:
			checks[name] = "ok"
		case time.Since(since) > cfg.HTTP.ReadyFailingAfter:
			bad(name, fmt.Sprintf("writes failing for %s (more than ready_failing_after %s)", time.Since(since).Round(time.Second), cfg.HTTP.ReadyFailingAfter))
		default:
			checks[name] = fmt.Sprintf("ok (writes failing for %s, within ready_failing_after)", time.Since(since).Round(time.Second))
		}
	}
	if dlErr != nil {
		bad("dead_letter", "cannot be written, offsets are held back: "+dlErr.Error())
	} else {
		checks["dead_letter"] = "ok"
	}
	lag := a.LagBytes()
	switch {
	case cfg.HTTP.ReadyMaxLagBytes > 0 && lag > cfg.HTTP.ReadyMaxLagBytes:
		bad("lag", fmt.Sprintf("%d bytes not yet acknowledged, more than ready_max_lag_bytes %d", lag, cfg.HTTP.ReadyMaxLagBytes))
	default:
		checks["lag"] = fmt.Sprintf("ok (%d bytes)", lag)
	}
	return ok, checks
}

// httpServer serves /metrics, /healthz and /readyz.
type httpServer struct {
	srv *http.Server
	ln  net.Listener
}

func (a *Agent) listenHTTP(c config.HTTP) (*httpServer, error) {
	ln, err := net.Listen("tcp", c.Listen)
	if err != nil {
		return nil, fmt.Errorf("http listener: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(a.m.reg, promhttp.HandlerOpts{Registry: a.m.reg}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, readiness{Status: "ok", Checks: map[string]string{"process": "ok"}})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		ok, checks := a.Readiness()
		if ok {
			writeJSON(w, http.StatusOK, readiness{Status: "ok", Checks: checks})
			return
		}
		writeJSON(w, http.StatusServiceUnavailable, readiness{Status: "unavailable", Checks: checks})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "not_found", "endpoints": []string{"/healthz", "/metrics", "/readyz"}})
	})
	a.log.Info("http listener started", "address", ln.Addr().String())
	if a.opts.HTTPReady != nil {
		a.opts.HTTPReady(ln.Addr().String())
	}
	return &httpServer{
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second},
		ln:  ln,
	}, nil
}

// run serves until ctx ends.
func (s *httpServer) run(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
