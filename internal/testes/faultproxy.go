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
	holds    []chan struct{}     // withhold the answers of the next bulk requests; closed once forwarded
	held     chan struct{}       // closed by ReleaseHeld
	maxBody  int                 // answer bulk requests with larger bodies 413; 0: no limit
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
		held:     make(chan struct{}),
	}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(func() {
		p.Resume()
		p.ReleaseHeld()
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

// RewriteNextBulk makes the next bulk request's items at the given
// positions (0-based) fail with the fault's status and error, and sets
// "errors": true in the answer. As on a real cluster, an item that fails is
// not stored: those items are taken out of the request before it is
// forwarded, and their answers are made up. So is a 409 fault ("a document
// with this _id is stored already"): a create on an existing _id changes
// nothing, which ZincSearch, which overwrites, would not do.
func (p *FaultProxy) RewriteNextBulk(items map[int]ItemFault) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rewrites = append(p.rewrites, items)
}

// LimitBody makes the proxy answer every bulk request whose body is longer
// than n bytes with 413 Request Entity Too Large and an HTML page, without
// forwarding it, as a reverse proxy with a body size limit does (nginx's
// client_max_body_size). n <= 0 removes the limit.
func (p *FaultProxy) LimitBody(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.maxBody = n
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

// HoldNextBulk forwards the next bulk request upstream as usual but
// withholds the upstream's answer from the client until
// [FaultProxy.ReleaseHeld] or until the client gives up (a killed client
// closes its connection). The returned channel is closed once the
// upstream has answered that request, so a test knows the server holds
// the documents while the client has not heard so yet.
func (p *FaultProxy) HoldNextBulk() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	ch := make(chan struct{})
	p.holds = append(p.holds, ch)
	return ch
}

// ReleaseHeld lets every withheld answer go to its client, and the
// answers of later held requests pass at once.
func (p *FaultProxy) ReleaseHeld() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.held:
	default:
		close(p.held)
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
		hold    chan struct{}
	)
	if bulk {
		p.mu.Lock()
		p.bodies = append(p.bodies, body)
		switch {
		case p.maxBody > 0 && len(body) > p.maxBody:
			p.mu.Unlock()
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			fmt.Fprint(w, "<html>\r\n<head><title>413 Request Entity Too Large</title></head>\r\n<body>\r\n<center><h1>413 Request Entity Too Large</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")
			return
		case p.drops > 0:
			p.drops--
			drop = true
		case len(p.statuses) > 0:
			status, p.statuses = p.statuses[0], p.statuses[1:]
		case len(p.rewrites) > 0:
			rewrite, p.rewrites = p.rewrites[0], p.rewrites[1:]
		}
		if !drop && status == 0 && len(p.holds) > 0 {
			hold, p.holds = p.holds[0], p.holds[1:]
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

	fwd := body
	var actions []bulkAction
	if rewrite != nil {
		actions = splitBulk(body)
		var b []byte
		for i, a := range actions {
			if storedFault(rewrite, i) {
				b = append(b, a.raw...)
			}
		}
		fwd = b
	}
	var (
		res     *http.Response
		resBody []byte
	)
	if rewrite != nil && len(fwd) == 0 { // every item fails: nothing to forward
		res = &http.Response{StatusCode: http.StatusOK, Header: http.Header{
			"Content-Type":      {"application/json"},
			"X-Elastic-Product": {"Elasticsearch"},
		}}
		resBody = []byte(`{"took":0,"errors":false,"items":[]}`)
	} else {
		out := *p.upstream
		out.Path = r.URL.Path
		out.RawQuery = r.URL.RawQuery
		req, err := http.NewRequestWithContext(r.Context(), r.Method, out.String(), bytes.NewReader(fwd))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		res, err = p.client.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		resBody, err = io.ReadAll(res.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
	}
	if hold != nil {
		close(hold)
		p.mu.Lock()
		held := p.held
		p.mu.Unlock()
		select {
		case <-held:
		case <-r.Context().Done():
			return
		}
	}
	if rewrite != nil && res.StatusCode < 300 {
		resBody, err = rewriteItems(resBody, rewrite, actions)
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

// bulkAction is one action of a bulk body: its raw lines, its verb and
// _id.
type bulkAction struct {
	raw  []byte
	verb string
	id   string
}

// splitBulk cuts a bulk body into actions (delete has no source line).
func splitBulk(body []byte) []bulkAction {
	var out []bulkAction
	lines := bytes.SplitAfter(body, []byte("\n"))
	for i := 0; i < len(lines); i++ {
		if len(bytes.TrimSpace(lines[i])) == 0 {
			continue
		}
		var m map[string]struct {
			ID string `json:"_id"`
		}
		_ = json.Unmarshal(lines[i], &m)
		a := bulkAction{raw: lines[i]}
		for k, v := range m {
			a.verb, a.id = k, v.ID
		}
		if a.verb != "delete" && i+1 < len(lines) {
			i++
			a.raw = append(bytes.Clone(a.raw), lines[i]...)
		}
		out = append(out, a)
	}
	return out
}

// storedFault reports whether the fault at pos, if any, leaves the item
// to be forwarded and stored: no fault, or a 2xx.
func storedFault(faults map[int]ItemFault, pos int) bool {
	f, ok := faults[pos]
	return !ok || f.Status < 300
}

// rewriteItems applies faults to a bulk answer of the actions that were
// forwarded (those storedFault keeps), making up the answers of the others.
func rewriteItems(body []byte, faults map[int]ItemFault, actions []bulkAction) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var r map[string]any
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("decode bulk answer: %w", err)
	}
	upstream, _ := r["items"].([]any)
	for pos := range faults {
		if pos < 0 || pos >= len(actions) {
			return nil, fmt.Errorf("rewrite item %d: the request has %d items", pos, len(actions))
		}
	}
	items := make([]any, 0, len(actions))
	next := 0
	for pos, a := range actions {
		f, faulted := faults[pos]
		if !storedFault(faults, pos) {
			items = append(items, map[string]any{a.verb: map[string]any{
				"_id": a.id, "status": f.Status,
				"error": map[string]any{"type": f.Type, "reason": f.Reason},
			}})
			continue
		}
		if next >= len(upstream) {
			return nil, fmt.Errorf("the upstream answered %d items for %d forwarded", len(upstream), next+1)
		}
		item := upstream[next]
		next++
		if faulted {
			m, _ := item.(map[string]any)
			for _, v := range m {
				if it, _ := v.(map[string]any); it != nil {
					delete(it, "result")
					it["status"] = f.Status
					it["error"] = map[string]any{"type": f.Type, "reason": f.Reason}
				}
			}
		}
		items = append(items, item)
	}
	r["items"] = items
	r["errors"] = true
	return json.Marshal(r)
}
