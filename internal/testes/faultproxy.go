package testes

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// ItemFault is what [FaultProxy.RewriteNextBulk] puts into one item of a
// bulk answer.
type ItemFault struct {
	Status int    // HTTP status of the item: 429, 409, 400 ...
	Type   string // error type, such as "mapper_parsing_exception"
	Reason string // error reason
}

// FaultProxy is a reverse proxy on 127.0.0.1 in front of a real
// Elasticsearch-API server that injects faults into bulk requests
// (POST …/_bulk) on demand and records every bulk body it receives. Other
// requests pass through untouched (but wait while paused). Its knobs are
// safe for concurrent use; each armed fault applies to the next bulk
// requests in arrival order.
type FaultProxy struct {
	t        testing.TB
	upstream *url.URL // scheme://host of the real server
	user     *url.Userinfo
	path     string // path prefix of the upstream URL, such as "/es"
	srv      *httptest.Server
	client   *http.Client

	mu       sync.Mutex
	statuses []int               // answer the next bulk requests with these statuses
	rewrites []map[int]ItemFault // rewrite the items of the next bulk answers
	drops    int                 // drop the connection of the next bulk requests
	paused   chan struct{}       // non-nil while paused; closed on resume
	bodies   [][]byte
}

// NewFaultProxy starts a proxy to upstream (a base URL such as
// "http://admin:pw@127.0.0.1:4080/es") and stops it when the test ends.
func NewFaultProxy(t testing.TB, upstream string) *FaultProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatalf("fault proxy: parse upstream: %v", err)
	}
	p := &FaultProxy{
		t:        t,
		upstream: &url.URL{Scheme: u.Scheme, Host: u.Host},
		user:     u.User,
		path:     strings.TrimRight(u.Path, "/"),
		client:   &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(func() {
		p.Resume()
		p.srv.CloseClientConnections()
		p.srv.Close()
		p.client.CloseIdleConnections()
	})
	return p
}

// URL returns the proxy's base URL, with the upstream's credentials and
// path prefix.
func (p *FaultProxy) URL() string {
	u, _ := url.Parse(p.srv.URL)
	u.User = p.user
	u.Path = p.path
	return u.String()
}

// FailBulk answers the next n bulk requests with status (and an error
// body) without forwarding them.
func (p *FaultProxy) FailBulk(n, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range n {
		p.statuses = append(p.statuses, status)
	}
}

// RewriteNextBulk forwards the next bulk request, then rewrites the items
// at the given positions (0-based, in the answer of that request) to the
// fault's status and error, and sets "errors": true.
func (p *FaultProxy) RewriteNextBulk(items map[int]ItemFault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rewrites = append(p.rewrites, items)
}

// DropNext closes the connection of the next n bulk requests without an
// answer (after reading them, before forwarding).
func (p *FaultProxy) DropNext(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drops += n
}

// Pause makes every request wait, unanswered, until [FaultProxy.Resume]
// or until its client gives up.
func (p *FaultProxy) Pause() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused == nil {
		p.paused = make(chan struct{})
	}
}

// Resume releases paused requests.
func (p *FaultProxy) Resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.paused != nil {
		close(p.paused)
		p.paused = nil
	}
}

// BulkBodies returns a copy of every bulk body received, in arrival order,
// faulted or not.
func (p *FaultProxy) BulkBodies() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([][]byte, len(p.bodies))
	for i, b := range p.bodies {
		out[i] = bytes.Clone(b)
	}
	return out
}

// BulkIDs returns the _id of each action of a bulk body, in order.
func BulkIDs(body []byte) []string {
	var ids []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64*1024), 64<<20)
	action := true
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if action {
			var m map[string]struct {
				ID string `json:"_id"`
			}
			if json.Unmarshal(line, &m) == nil {
				for _, v := range m {
					ids = append(ids, v.ID)
				}
			}
		}
		action = !action
	}
	return ids
}

func (p *FaultProxy) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	paused := p.paused
	p.mu.Unlock()
	if paused != nil {
		select {
		case <-paused:
		case <-r.Context().Done():
			return
		}
	}

	bulk := r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/_bulk")
	var (
		status  int
		rewrite map[int]ItemFault
		drop    bool
	)
	if bulk {
		p.mu.Lock()
		p.bodies = append(p.bodies, body)
		switch {
		case p.drops > 0:
			p.drops--
			drop = true
		case len(p.statuses) > 0:
			status, p.statuses = p.statuses[0], p.statuses[1:]
		case len(p.rewrites) > 0:
			rewrite, p.rewrites = p.rewrites[0], p.rewrites[1:]
		}
		p.mu.Unlock()
	}
	switch {
	case drop:
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("fault proxy: connection cannot be hijacked")
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			_ = conn.Close()
		}
		return
	case status != 0:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":{"type":"injected_fault","reason":"fault proxy answered %d"},"status":%d}`, status, status)
		return
	}

	out := *p.upstream
	out.Path = r.URL.Path
	out.RawQuery = r.URL.RawQuery
	req, err := http.NewRequestWithContext(r.Context(), r.Method, out.String(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	res, err := p.client.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	resBody, err := io.ReadAll(res.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	if rewrite != nil && res.StatusCode < 300 {
		resBody, err = rewriteItems(resBody, rewrite)
		if err != nil {
			http.Error(w, "fault proxy: "+err.Error(), http.StatusBadGateway)
			return
		}
	}
	for k, vs := range res.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(resBody)))
	w.WriteHeader(res.StatusCode)
	_, _ = w.Write(resBody)
}

// rewriteItems applies faults to a bulk answer.
func rewriteItems(body []byte, faults map[int]ItemFault) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var r map[string]any
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("decode bulk answer: %w", err)
	}
	items, _ := r["items"].([]any)
	for pos, f := range faults {
		if pos < 0 || pos >= len(items) {
			return nil, fmt.Errorf("rewrite item %d: the answer has %d items", pos, len(items))
		}
		m, _ := items[pos].(map[string]any)
		for _, v := range m {
			it, _ := v.(map[string]any)
			if it == nil {
				continue
			}
			delete(it, "result")
			it["status"] = f.Status
			it["error"] = map[string]any{"type": f.Type, "reason": f.Reason}
		}
	}
	r["errors"] = true
	return json.Marshal(r)
}
