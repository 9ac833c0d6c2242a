package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	es "github.com/elastic/go-elasticsearch/v8"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
)

// bulkRequest is one _bulk body and the batch indexes of its items, in
// order.
type bulkRequest struct {
	body  []byte
	items []int
	ends  []int // end offset in body of each item's two lines
}

// part returns the request of items[lo:hi], sharing the body.
func (r bulkRequest) part(lo, hi int) bulkRequest {
	start := 0
	if lo > 0 {
		start = r.ends[lo-1]
	}
	ends := make([]int, hi-lo)
	for i := range ends {
		ends[i] = r.ends[lo+i] - start
	}
	return bulkRequest{body: r.body[start:r.ends[hi-1]], items: r.items[lo:hi], ends: ends}
}

// runEnd returns the end of the longest run of items from lo whose body
// is at most limit bytes, and at least lo+1 (an item larger than limit goes
// alone).
func (r bulkRequest) runEnd(lo, limit int) int {
	start := 0
	if lo > 0 {
		start = r.ends[lo-1]
	}
	hi := lo + 1
	for hi < len(r.items) && r.ends[hi]-start <= limit {
		hi++
	}
	return hi
}

// encodeBatch encodes batch as create actions and splits them into
// requests of at most flushEvents items and flushBytes bytes (an item larger
// than flushBytes goes alone). It also returns the concrete indexes used.
// Events whose details cannot be encoded are returned as rejected items.
func encodeBatch(prefix string, batch []event.Event, flushEvents, flushBytes int) ([]bulkRequest, []string, []outputs.ItemError) {
	var (
		reqs     []bulkRequest
		cur      bulkRequest
		indexes  []string
		rejected []outputs.ItemError
		item     []byte
	)
	for i := range batch {
		e := &batch[i]
		details, err := event.MarshalDetails(e.Details)
		if err != nil {
			rejected = append(rejected, outputs.ItemError{Index: i, Reason: err.Error()})
			continue
		}
		index := indexFor(prefix, e.Time)
		if !slices.Contains(indexes, index) {
			indexes = append(indexes, index)
		}
		item = appendBulkItem(item[:0], index, e, details, true)
		if len(cur.items) > 0 && (len(cur.items) >= flushEvents || len(cur.body)+len(item) > flushBytes) {
			reqs = append(reqs, cur)
			cur = bulkRequest{}
		}
		if cur.body == nil {
			cur.body = make([]byte, 0, min(flushBytes, len(item)*(len(batch)-i)))
		}
		cur.body = append(cur.body, item...)
		cur.items = append(cur.items, i)
		cur.ends = append(cur.ends, len(cur.body))
	}
	if len(cur.items) > 0 {
		reqs = append(reqs, cur)
	}
	return reqs, indexes, rejected
}

// minSplitEvents is the fewest events per request that [splitEvents] makes
// when it splits a batch only to keep concurrency requests in flight.
const minSplitEvents = 100

// splitEvents returns the most events per request for a batch of n events:
// flushEvents, or less so that the batch makes concurrency requests of
// about equal size (never fewer than minSplitEvents events each). The
// server handles each request on its own (ZincSearch on one core, an
// Elasticsearch node on one write thread per shard), so a batch sent as one
// request would leave the other requests' capacity idle: with the agent's
// 1000-event batches and flush_events 1000, one request at a time reached
// a third of the rate of a loader with two requests in flight.
func splitEvents(n, flushEvents, concurrency int) int {
	per := (n + concurrency - 1) / concurrency
	return min(flushEvents, max(per, minSplitEvents))
}

// Write sends batch with the bulk API, one attempt, using create actions
// with _id = event_id so that a re-sent event is stored once. Per item:
// 200/201 and 409 (already stored) are accepted; 429 and 5xx are retryable;
// any other status is rejected with Elasticsearch's "type: reason". Write
// returns nil when every event was accepted, a *[outputs.BatchError] when
// some were not, and a plain error when no request got an answer
// (transport failure, timeout, or a whole request answered 429, 5xx or
// another non-2xx status): then the caller re-sends the whole batch.
// A batch is split into several requests, at most concurrency in flight:
// into concurrency requests of about equal size (see [splitEvents]), and
// more when a part would exceed flush_events or flush_bytes.
func (o *Output) Write(ctx context.Context, batch []event.Event) error {
	if len(batch) == 0 {
		return nil
	}
	c, err := o.readyClient(ctx)
	if err != nil {
		return err
	}
	flushBytes := o.limit()
	reqs, indexes, rejected := encodeBatch(o.cfg.IndexPrefix, batch, splitEvents(len(batch), o.cfg.FlushEvents, o.cfg.Concurrency), flushBytes)
	for _, index := range indexes {
		o.mu.Lock()
		done := o.indexes[index]
		o.mu.Unlock()
		if done {
			continue
		}
		if err := ensureIndex(ctx, c, o.timeout, index, o.alias); err != nil {
			return fmt.Errorf("write %d events: %w", len(batch), err)
		}
		o.mu.Lock()
		o.indexes[index] = true
		o.mu.Unlock()
	}

	results := make([]bulkResult, len(reqs))
	sem := make(chan struct{}, o.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range reqs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i] = o.sendBulk(ctx, c, reqs[i])
			if splitting(results[i].err) {
				results[i] = o.split(ctx, c, reqs[i], batch, results[i].err)
			}
		})
	}
	wg.Wait()

	failed := rejected
	var (
		firstErr  error
		answered  int
		conflicts []int
	)
	for i, r := range results {
		if r.err != nil {
			if firstErr == nil {
				firstErr = r.err
			}
			for _, idx := range reqs[i].items {
				failed = append(failed, outputs.ItemError{Index: idx, Retryable: true, Reason: r.err.Error()})
			}
			continue
		}
		answered++
		failed = append(failed, r.failed...)
		conflicts = append(conflicts, r.conflicts...)
	}
	if answered == 0 && firstErr != nil {
		return fmt.Errorf("write %d events: %w", len(batch), firstErr)
	}
	if len(conflicts) > 0 {
		failed = append(failed, o.checkReused(ctx, c, batch, conflicts)...)
	}
	if len(failed) == 0 {
		o.log.Debug("batch written", "count", len(batch), "requests", len(reqs))
		return nil
	}
	slices.SortFunc(failed, func(a, b outputs.ItemError) int { return a.Index - b.Index })
	return &outputs.BatchError{Items: failed}
}

// bulkResult is the outcome of one bulk request: err when it got no usable
// answer, else the items that failed.
type bulkResult struct {
	err       error
	failed    []outputs.ItemError
	conflicts []int // batch indexes of the items answered 409: stored already, by this event or another (see checkReused)
}

type bulkItem struct {
	ID     string          `json:"_id"`
	Status int             `json:"status"`
	Error  json.RawMessage `json:"error"`
}

type bulkResponse struct {
	Errors bool                  `json:"errors"`
	Error  json.RawMessage       `json:"error"` // whole-request failure; ZincSearch puts its own here
	Items  []map[string]bulkItem `json:"items"`
}

// bulkSummary is the part of a bulk answer that is read first: when no item
// failed, the number of items is all that matters, and skipping their
// fields costs a fraction of decoding them.
type bulkSummary struct {
	Errors bool            `json:"errors"`
	Error  json.RawMessage `json:"error"`
	Items  []struct{}      `json:"items"`
}

// bulkPath is the bulk API with filter_path: Elasticsearch then answers
// only what [classify] reads (a tenth of the bytes of a full answer to
// decode); ZincSearch ignores it.
const bulkPath = "/_bulk?filter_path=errors,error,items.*.status,items.*.error"

// sendBulk makes one bulk request and classifies its items.
func (o *Output) sendBulk(ctx context.Context, c *es.Client, req bulkRequest) bulkResult {
	res, err := do(ctx, c, o.timeout, http.MethodPost, bulkPath, req.body)
	if err != nil {
		return bulkResult{err: err}
	}
	if res.Status == http.StatusRequestEntityTooLarge {
		return bulkResult{err: fmt.Errorf("bulk request of %d bytes: %w", len(req.body), errTooLarge)}
	}
	if res.Status >= 300 {
		return bulkResult{err: fmt.Errorf("bulk request: %w", statusError(res))}
	}
	failed, conflicts, err := classify(res.Body, req.items)
	if err != nil {
		return bulkResult{err: err}
	}
	return bulkResult{failed: failed, conflicts: conflicts}
}

// errBulkAnswer marks a 2xx bulk answer that cannot be matched to the
// request's items.
var errBulkAnswer = errors.New("unusable bulk answer")

// errRequestFailed marks a 2xx bulk answer with a top-level error and no
// items: ZincSearch's answer when one document does not fit the mapping
// (it may have stored the items before that one).
var errRequestFailed = errors.New("bulk request failed")

// errTooLarge marks a bulk request answered 413 Request Entity Too Large:
// its body is over Elasticsearch's http.max_content_length (100mb by
// default) or a proxy's body limit (nginx's client_max_body_size, 1m by
// default).
var errTooLarge = errors.New("HTTP 413: request body larger than the server, or a proxy in front of it, accepts")

// splitting reports whether a request that failed with err is sent again in
// halves by [Output.split].
func splitting(err error) bool {
	return errors.Is(err, errRequestFailed) || errors.Is(err, errTooLarge)
}

// split handles a request that failed as a whole because of its size or
// one of its documents (cause: errTooLarge or errRequestFailed). It sends
// the request again in halves, and the halves of a half that fails the
// same way, until the events that cause the failure stand alone:
//
//   - errTooLarge: the body limit is lowered to half the request (see
//     [Output.lowerBodyLimit]) so later batches are sent in smaller
//     requests. One event that is too large even alone is rejected, not
//     retryable (the agent dead-letters it with the reason; `auditship
//     deadletter replay` sends it again once the limit is raised): without
//     this it would block its batch for ever.
//   - errRequestFailed: the event is sent once more without the
//     searchable details copy, which is what does not fit (a details field
//     first seen as a date, later holding another string, or another
//     type). It is then stored whole in event_details, only not searchable
//     by its details, as Elasticsearch's ignore_malformed would do, and is
//     logged. An event that fails even so stays retryable: the cause was
//     not its copy.
func (o *Output) split(ctx context.Context, c *es.Client, req bulkRequest, batch []event.Event, cause error) bulkResult {
	if len(req.items) == 1 {
		i := req.items[0]
		e := &batch[i]
		if errors.Is(cause, errTooLarge) {
			o.log.Warn("event rejected: too large for one bulk request", "event_id", e.ID, "event_name", e.Name, "bytes", len(req.body), "error", cause)
			return bulkResult{failed: []outputs.ItemError{{Index: i, Reason: fmt.Sprintf("%v (the event alone is a %d-byte request)", cause, len(req.body))}}}
		}
		details, err := event.MarshalDetails(e.Details)
		if err != nil { // encoded once already; cannot happen
			return bulkResult{err: cause}
		}
		body := appendBulkItem(nil, indexFor(o.cfg.IndexPrefix, e.Time), e, details, false)
		r := o.sendBulk(ctx, c, bulkRequest{body: body, items: req.items, ends: []int{len(body)}})
		if r.err != nil {
			return bulkResult{failed: []outputs.ItemError{{Index: i, Retryable: true, Reason: cause.Error()}}}
		}
		if len(r.failed) == 0 {
			o.log.Warn("event stored without its searchable details copy", "event_id", e.ID, "event_name", e.Name, "error", cause)
		}
		return r
	}
	// The parts: halves for a document that does not fit; for a body too
	// large, consecutive runs under the body limit as it is when each run
	// is cut, so that a limit learned on one part applies to the next at
	// once rather than after halving down to it again.
	half, lo := len(req.items)/2, 0
	next := func() (bulkRequest, bool) {
		switch {
		case lo == len(req.items):
			return bulkRequest{}, false
		case errors.Is(cause, errTooLarge):
			hi := req.runEnd(lo, o.limit())
			p := req.part(lo, hi)
			lo = hi
			return p, true
		case lo == 0:
			lo = half
			return req.part(0, half), true
		default:
			lo = len(req.items)
			return req.part(half, len(req.items)), true
		}
	}
	if errors.Is(cause, errTooLarge) {
		o.lowerBodyLimit(len(req.body) / 2)
	}
	var out bulkResult
	for part, ok := next(); ok; part, ok = next() {
		r := o.sendBulk(ctx, c, part)
		if splitting(r.err) {
			r = o.split(ctx, c, part, batch, r.err)
		}
		if r.err != nil { // no usable answer: every item of the part may be retried
			for _, idx := range part.items {
				out.failed = append(out.failed, outputs.ItemError{Index: idx, Retryable: true, Reason: r.err.Error()})
			}
			continue
		}
		out.failed = append(out.failed, r.failed...)
		out.conflicts = append(out.conflicts, r.conflicts...)
	}
	return out
}

// limit returns the most bytes of one bulk request now (see lowerBodyLimit).
func (o *Output) limit() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.bodyLimit
}

// lowerBodyLimit makes later bulk requests at most n bytes (an event larger
// than that still goes alone) and warns when this lowers the limit. It
// lasts until the output is made again (a restart, or a reload that
// changes its block). Safe for concurrent use.
func (o *Output) lowerBodyLimit(n int) {
	o.mu.Lock()
	lowered := n < o.bodyLimit
	if lowered {
		o.bodyLimit = n
	}
	o.mu.Unlock()
	if lowered {
		o.log.Warn("bulk requests too large for the server (HTTP 413): sending smaller ones",
			"max_request_bytes", n, "flush_bytes", o.cfg.FlushBytes,
			"hint", "set flush_bytes below the body limit of Elasticsearch (http.max_content_length) or of the proxy in front of it")
	}
}

// classify reads a 2xx bulk answer. items maps the answer's positions to
// batch indexes. It returns the items that failed and, apart, those
// answered 409 (a document with their _id is stored already).
func classify(body []byte, items []int) (failed []outputs.ItemError, conflicts []int, err error) {
	var sum bulkSummary
	if err := json.Unmarshal(body, &sum); err != nil {
		return nil, nil, fmt.Errorf("%w: decode: %w", errBulkAnswer, err)
	}
	if len(sum.Error) > 0 && string(sum.Error) != "null" {
		return nil, nil, fmt.Errorf("%w: %s", errRequestFailed, reasonOf(sum.Error))
	}
	if len(sum.Items) != len(items) {
		return nil, nil, fmt.Errorf("%w: %d items for %d actions", errBulkAnswer, len(sum.Items), len(items))
	}
	if !sum.Errors {
		return nil, nil, nil
	}
	var r bulkResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, nil, fmt.Errorf("%w: decode: %w", errBulkAnswer, err)
	}
	for pos, m := range r.Items {
		var it bulkItem
		for _, v := range m { // one key: the action ("create"; ZincSearch says "index")
			it = v
		}
		if it.Status == http.StatusConflict {
			conflicts = append(conflicts, items[pos])
			continue
		}
		ok, retry := classifyStatus(it.Status)
		if ok {
			continue
		}
		reason := reasonOf(it.Error)
		if reason == "" {
			reason = http.StatusText(it.Status)
		}
		failed = append(failed, outputs.ItemError{
			Index:     items[pos],
			Retryable: retry,
			Reason:    fmt.Sprintf("HTTP %d: %s", it.Status, reason),
		})
	}
	return failed, conflicts, nil
}

// classifyStatus maps an item status to accepted, or failed and whether it
// may be retried.
func classifyStatus(status int) (accepted, retryable bool) {
	switch {
	case status >= 200 && status < 300:
		return true, false
	case status == http.StatusConflict: // create on an existing _id: already stored
		return true, false
	case status == http.StatusTooManyRequests || status >= 500:
		return false, true
	default:
		return false, false
	}
}

// reusedChunk is the most ids one search of [Output.checkReused] asks for.
const reusedChunk = 1000

// checkReused reads back the stored documents of the batch items answered
// 409 (idx) and compares each with its event: the same content is a
// re-sent event (after a crash or a retry) and counts as stored; different
// content under the same event_id (a platform that reuses ids) is
// rejected, not retryable, with both events named, as the embedded store
// does (see [outputs.ReusedID]). Documents are read with an ids query on
// the alias, which is near real-time: a document created less than a
// refresh interval (1 s by default) ago may not be found yet, and its
// event then counts as stored, as before this check. An item whose
// document cannot be read (no answer) is retryable.
func (o *Output) checkReused(ctx context.Context, c *es.Client, batch []event.Event, idx []int) []outputs.ItemError {
	var failed []outputs.ItemError
	for len(idx) > 0 {
		part := idx[:min(reusedChunk, len(idx))]
		idx = idx[len(part):]
		ids := make([]string, len(part))
		for j, i := range part {
			ids[j] = strconv.FormatInt(batch[i].ID, 10)
		}
		stored, err := o.storedByID(ctx, c, ids)
		if err != nil {
			for _, i := range part {
				failed = append(failed, outputs.ItemError{Index: i, Retryable: true, Reason: fmt.Sprintf("HTTP 409: read back the stored event: %v", err)})
			}
			continue
		}
		for _, i := range part {
			e := &batch[i]
			s, ok := stored[e.ID]
			if !ok {
				o.log.Debug("stored event not searchable yet; counted as stored", "event_id", e.ID)
				continue
			}
			details, err := event.MarshalDetails(e.Details)
			if err != nil { // encoded once already; cannot happen
				continue
			}
			if reason := outputs.ReusedID(s.event, s.details, *e, string(details), time.Microsecond); reason != "" {
				failed = append(failed, outputs.ItemError{Index: i, Reason: reason})
			}
		}
	}
	return failed
}

// storedEvent is a document read back by [Output.storedByID]: its event
// (without details) and its event_details text.
type storedEvent struct {
	event   event.Event
	details string
}

// storedByID reads the stored documents with the given _ids through the
// alias, keyed by event_id.
func (o *Output) storedByID(ctx context.Context, c *es.Client, ids []string) (map[int64]storedEvent, error) {
	body, err := json.Marshal(obj{
		"size":             len(ids),
		"track_total_hits": false,
		"query":            obj{"ids": obj{"values": ids}},
	})
	if err != nil {
		return nil, err
	}
	res, err := do(ctx, c, o.timeout, http.MethodPost, "/"+url.PathEscape(o.alias)+"/_search", body)
	if err != nil {
		return nil, err
	}
	if res.Status >= 300 {
		return nil, statusError(res)
	}
	var r searchResponse
	if err := json.Unmarshal(res.Body, &r); err != nil {
		return nil, fmt.Errorf("decode answer: %w", err)
	}
	out := make(map[int64]storedEvent, len(r.Hits.Hits))
	for _, h := range r.Hits.Hits {
		id, err := strconv.ParseInt(h.ID, 10, 64)
		if err != nil {
			continue // not written by auditship
		}
		var src struct {
			EventTime    string      `json:"event_time"`
			EventName    string      `json:"event_name"`
			EventType    string      `json:"event_type"`
			EventDetails string      `json:"event_details"`
			UserUID      json.Number `json:"user_uid"`
		}
		dec := json.NewDecoder(bytes.NewReader(h.Source))
		dec.UseNumber()
		if err := dec.Decode(&src); err != nil {
			return nil, fmt.Errorf("decode document %q: %w", h.ID, err)
		}
		t, err := time.Parse(time.RFC3339Nano, src.EventTime)
		if err != nil {
			return nil, fmt.Errorf("decode document %q: event_time: %w", h.ID, err)
		}
		uid, err := number(src.UserUID)
		if err != nil {
			return nil, fmt.Errorf("decode document %q: user_uid: %w", h.ID, err)
		}
		out[id] = storedEvent{
			event:   event.Event{ID: id, Time: t, Name: src.EventName, Type: src.EventType, UserUID: uid},
			details: src.EventDetails,
		}
	}
	return out, nil
}
