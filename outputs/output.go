package outputs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/auditship/auditship/event"
)

// Output delivers batches of events.
//
// Write returns nil only when every event in batch is durably accepted
// (stored, or already stored: writes are idempotent on event_id). A
// *[BatchError] lists the items that failed and whether each may be retried;
// items it does not list were accepted. Any other error means nothing in the
// batch counts as written and the whole batch may be retried. Write is never
// called concurrently (unless the output implements [Concurrent]) and must
// not keep batch after it returns.
type Output interface {
	Write(ctx context.Context, batch []event.Event) error
	// Close flushes and releases resources; it returns ctx.Err() if ctx ends first.
	Close(ctx context.Context) error
}

// Concurrent is implemented by outputs whose Write may be called for up to
// MaxInflightBatches consecutive batches at once, to keep a remote store busy
// while earlier batches are acknowledged (Elasticsearch's bulk API serves
// several requests at a time). The agent still acknowledges offsets strictly
// in batch order, so a batch written after one that fails is written again
// after a restart; writes are idempotent on event_id, so that stores nothing
// twice.
type Concurrent interface {
	MaxInflightBatches() int
}

// Opener is implemented by outputs that do I/O before the first Write:
// connect, create tables, install an index template. The agent calls Open once
// at start and refuses to run when it fails.
type Opener interface {
	Open(ctx context.Context) error
}

// ItemError is the failure of one event of a batch.
type ItemError struct {
	Index     int    // index into the batch passed to Write
	Retryable bool   // true: send again later (429, 5xx, timeout); false: dead-letter
	Reason    string // the store's own reason, for the dead-letter file
}

// BatchError reports per-item failures of a Write. Items not listed were
// accepted.
type BatchError struct {
	Items []ItemError
}

// Error summarises the failed items.
func (e *BatchError) Error() string {
	var retry, fatal int
	for _, it := range e.Items {
		if it.Retryable {
			retry++
		} else {
			fatal++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d items failed (%d retryable, %d rejected)", len(e.Items), retry, fatal)
	if len(e.Items) > 0 {
		fmt.Fprintf(&b, ": first: %s", e.Items[0].Reason)
	}
	return b.String()
}

// Order is the sort direction of a search on (event_time, event_id).
type Order int

// Sort orders.
const (
	Desc Order = iota // newest first (default)
	Asc               // oldest first
)

// Cursor is a keyset position: the (event_time, event_id) of the last event of
// the previous page. The next page holds events strictly after it in the
// search's order.
type Cursor struct {
	Time time.Time // UTC
	ID   int64
}

// Query is a search over stored events. Zero values mean "no filter".
type Query struct {
	Limit    int       // maximum number of events, 1 to 10000
	Start    time.Time // inclusive lower bound on event_time; zero: none
	End      time.Time // exclusive upper bound on event_time; zero: none
	Names    []string  // event_name in any of these
	Types    []string  // event_type in any of these
	UserUIDs []int64   // user_uid in any of these
	Order    Order     // Desc (default) or Asc, on event_time then event_id
	After    *Cursor   // keyset: only events after this one in Order
}

// Searcher reads events back for GET /audit-logs. Search returns at most
// q.Limit events sorted by (event_time, event_id) in q.Order. It is safe for
// concurrent use. An error wrapping ErrUnavailable means the store cannot be
// reached (the API answers 503).
type Searcher interface {
	Search(ctx context.Context, q Query) ([]event.Event, error)
}

// ErrUnavailable is wrapped by Search errors when the store cannot be reached.
var ErrUnavailable = fmt.Errorf("store unavailable")
