package elasticsearch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"

	es "github.com/elastic/go-elasticsearch/v8"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
)

// bulkRequest is one _bulk body and the batch indexes of its items, in
// order.
type bulkRequest struct {
	body  []byte
	items []int
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
		item = appendBulkItem(item[:0], index, e, details)
		if len(cur.items) > 0 && (len(cur.items) >= flushEvents || len(cur.body)+len(item) > flushBytes) {
			reqs = append(reqs, cur)
			cur = bulkRequest{}
		}
		if cur.body == nil {
			cur.body = make([]byte, 0, min(flushBytes, len(item)*(len(batch)-i)))
		}
		cur.body = append(cur.body, item...)
		cur.items = append(cur.items, i)
	}
	if len(cur.items) > 0 {
		reqs = append(reqs, cur)
	}
	return reqs, indexes, rejected
}

// Write sends batch with the bulk API, one attempt, using create actions
// with _id = event_id so that a re-sent event is stored once. Per item:
// 200/201 and 409 (already stored) are accepted; 429 and 5xx are retryable;
// any other status is rejected with Elasticsearch's "type: reason". Write
// returns nil when every event was accepted, a *[outputs.BatchError] when
// some were not, and a plain error when no request got an answer
// (transport failure, timeout, or a whole request answered 429, 5xx or
// another non-2xx status): then the caller re-sends the whole batch.
// A batch larger than flush_events or flush_bytes is split into several
// requests, at most concurrency in flight.
func (o *Output) Write(ctx context.Context, batch []event.Event) error {
	if len(batch) == 0 {
		return nil
	}
	c, err := o.getClient()
	if err != nil {
		return err
	}
	reqs, indexes, rejected := encodeBatch(o.cfg.IndexPrefix, batch, o.cfg.FlushEvents, o.cfg.FlushBytes)
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
		})
	}
	wg.Wait()

	failed := rejected
	var firstErr error
	answered := 0
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
	}
	if answered == 0 && firstErr != nil {
		return fmt.Errorf("write %d events: %w", len(batch), firstErr)
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
	err    error
	failed []outputs.ItemError
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

// sendBulk makes one bulk request and classifies its items.
func (o *Output) sendBulk(ctx context.Context, c *es.Client, req bulkRequest) bulkResult {
	res, err := do(ctx, c, o.timeout, http.MethodPost, "/_bulk", req.body)
	if err != nil {
		return bulkResult{err: err}
	}
	if res.Status >= 300 {
		return bulkResult{err: fmt.Errorf("bulk request: %w", statusError(res))}
	}
	failed, err := classify(res.Body, req.items)
	if err != nil {
		return bulkResult{err: err}
	}
	return bulkResult{failed: failed}
}

// errBulkAnswer marks a 2xx bulk answer that cannot be matched to the
// request's items.
var errBulkAnswer = errors.New("unusable bulk answer")

// classify reads a 2xx bulk answer. items maps the answer's positions to
// batch indexes.
func classify(body []byte, items []int) ([]outputs.ItemError, error) {
	var r bulkResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%w: decode: %w", errBulkAnswer, err)
	}
	if len(r.Error) > 0 && string(r.Error) != "null" {
		return nil, fmt.Errorf("%w: request failed: %s", errBulkAnswer, reasonOf(r.Error))
	}
	if len(r.Items) != len(items) {
		return nil, fmt.Errorf("%w: %d items for %d actions", errBulkAnswer, len(r.Items), len(items))
	}
	if !r.Errors {
		return nil, nil
	}
	var failed []outputs.ItemError
	for pos, m := range r.Items {
		var it bulkItem
		for _, v := range m { // one key: the action ("create"; ZincSearch says "index")
			it = v
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
	return failed, nil
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
