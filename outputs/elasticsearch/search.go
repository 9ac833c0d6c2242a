package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
)

// MaxLimit is the largest Query.Limit Search serves (Elasticsearch's default
// index.max_result_window).
const MaxLimit = 10000

// Search reads events back through the alias, sorted on (event_time_us,
// event_id) in q.Order. Paging is keyset only (q.After becomes a range
// filter; neither search_after nor from is used). Events are rendered from
// _source: event_time to the microsecond, event_details from its stored
// JSON text with numbers exact, event_id from _id. Before anything was
// written (no alias yet) it returns an empty list. An unreachable cluster,
// or one answering 502, 503 or 504, gives an error wrapping
// [outputs.ErrUnavailable]. Safe for concurrent use.
func (o *Output) Search(ctx context.Context, q outputs.Query) ([]event.Event, error) {
	c, err := o.readyClient(ctx)
	if err != nil {
		return nil, err
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return nil, fmt.Errorf("search: limit %d is not between 1 and %d", q.Limit, MaxLimit)
	}
	body, err := json.Marshal(searchBody(q))
	if err != nil {
		return nil, fmt.Errorf("search: encode query: %w", err)
	}
	res, err := do(ctx, c, o.timeout, http.MethodPost, "/"+url.PathEscape(o.alias)+"/_search", body)
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", o.alias, err)
	}
	switch {
	case res.Status == http.StatusNotFound || (res.Status == http.StatusBadRequest && notFound(res.Body)):
		return []event.Event{}, nil
	case res.Status == http.StatusBadGateway || res.Status == http.StatusServiceUnavailable || res.Status == http.StatusGatewayTimeout:
		return nil, fmt.Errorf("search %q: %w: HTTP %d: %s", o.alias, outputs.ErrUnavailable, res.Status, errorReason(res.Body))
	case res.Status >= 300:
		return nil, fmt.Errorf("search %q: %w", o.alias, statusError(res))
	}
	evs, err := decodeHits(res.Body)
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", o.alias, err)
	}
	return evs, nil
}

// ceilMicro returns t in microseconds since the epoch, rounded up. Stored
// times are whole microseconds, so "stored >= t" is "stored >= ceilMicro(t)"
// and "stored < t" is "stored < ceilMicro(t)".
func ceilMicro(t time.Time) int64 {
	us := t.UnixMicro()
	if t.Sub(time.UnixMicro(us)) > 0 {
		us++
	}
	return us
}

type obj = map[string]any

// searchBody builds the _search request of q.
func searchBody(q outputs.Query) obj {
	var filter []any
	if len(q.Names) > 0 {
		filter = append(filter, obj{"terms": obj{"event_name": q.Names}})
	}
	if len(q.Types) > 0 {
		filter = append(filter, obj{"terms": obj{"event_type": q.Types}})
	}
	if len(q.UserUIDs) > 0 {
		filter = append(filter, obj{"terms": obj{"user_uid": q.UserUIDs}})
	}
	if !q.Start.IsZero() || !q.End.IsZero() {
		r := obj{}
		if !q.Start.IsZero() {
			r["gte"] = ceilMicro(q.Start)
		}
		if !q.End.IsZero() {
			r["lt"] = ceilMicro(q.End)
		}
		filter = append(filter, obj{"range": obj{"event_time_us": r}})
	}
	order, op := "desc", "lt"
	if q.Order == outputs.Asc {
		order, op = "asc", "gt"
	}
	if q.After != nil {
		t := q.After.Time.UnixMicro()
		// (time, id) strictly after the cursor in this order, as filters
		// every server supports: time beyond t, or time equal and id beyond.
		filter = append(filter, obj{"bool": obj{
			"minimum_should_match": 1,
			"should": []any{
				obj{"range": obj{"event_time_us": obj{op: t}}},
				obj{"bool": obj{"filter": []any{
					obj{"range": obj{"event_time_us": obj{"gte": t, "lte": t}}},
					obj{"range": obj{"event_id": obj{op: q.After.ID}}},
				}}},
			},
		}})
	}
	body := obj{
		"size":             q.Limit,
		"track_total_hits": false,
		"sort": []any{
			obj{"event_time_us": obj{"order": order}},
			obj{"event_id": obj{"order": order}},
		},
	}
	if len(filter) > 0 {
		body["query"] = obj{"bool": obj{"filter": filter}}
	} else {
		body["query"] = obj{"match_all": obj{}}
	}
	return body
}

type searchResponse struct {
	Hits struct {
		Hits []struct {
			ID     string          `json:"_id"`
			Source json.RawMessage `json:"_source"`
		} `json:"hits"`
	} `json:"hits"`
}

type sourceJSON struct {
	EventID      json.Number     `json:"event_id"`
	EventTime    string          `json:"event_time"`
	EventName    string          `json:"event_name"`
	EventType    string          `json:"event_type"`
	EventDetails json.RawMessage `json:"event_details"`
	UserUID      json.Number     `json:"user_uid"`
}

// decodeHits renders the hits of a _search answer.
func decodeHits(body []byte) ([]event.Event, error) {
	var r searchResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("decode answer: %w", err)
	}
	evs := make([]event.Event, 0, len(r.Hits.Hits))
	for _, h := range r.Hits.Hits {
		var s sourceJSON
		dec := json.NewDecoder(bytes.NewReader(h.Source))
		dec.UseNumber()
		if err := dec.Decode(&s); err != nil {
			return nil, fmt.Errorf("decode document %q: %w", h.ID, err)
		}
		id, err := strconv.ParseInt(h.ID, 10, 64)
		if err != nil { // not written by auditship's id scheme
			if id, err = number(s.EventID); err != nil {
				return nil, fmt.Errorf("decode document %q: event_id: %w", h.ID, err)
			}
		}
		t, err := event.ParseTime(s.EventTime)
		if err != nil {
			return nil, fmt.Errorf("decode document %q: %w", h.ID, err)
		}
		uid, err := number(s.UserUID)
		if err != nil {
			return nil, fmt.Errorf("decode document %q: user_uid: %w", h.ID, err)
		}
		raw := []byte(s.EventDetails)
		var text string
		if json.Unmarshal(raw, &text) == nil { // stored as JSON text (auditship's layout)
			raw = []byte(text)
		}
		details, err := event.UnmarshalDetails(raw)
		if err != nil {
			return nil, fmt.Errorf("decode document %q: %w", h.ID, err)
		}
		evs = append(evs, event.Event{ID: id, Time: t, Name: s.EventName, Type: s.EventType, Details: details, UserUID: uid})
	}
	return evs, nil
}

// number reads an integer that a server may have re-encoded as a float
// (ZincSearch stores numbers as float64).
func number(n json.Number) (int64, error) {
	if n == "" {
		return 0, nil
	}
	if i, err := n.Int64(); err == nil {
		return i, nil
	}
	f, err := n.Float64()
	if err != nil {
		return 0, err
	}
	return int64(f), nil
}
