package query

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
)

// Limits on GET /audit-logs parameters.
const (
	DefaultLimit = 100   // limit when none is given
	MaxLimit     = 10000 // largest limit accepted
	maxValues    = 100   // most values of one repeatable parameter
)

// paramError is a 400 for a parameter problem; its text is shown to clients.
type paramError struct{ msg string }

func (e *paramError) Error() string { return e.msg }

func badParam(format string, args ...any) error {
	return &paramError{msg: fmt.Sprintf(format, args...)}
}

// known lists the accepted parameters and whether each may repeat.
var known = map[string]bool{
	"limit": false, "start_time": false, "end_time": false, "order": false, "cursor": false,
	"event_name": true, "event_type": true, "user_uid": true,
}

// parseParams turns the query string of GET /audit-logs into a search. Every
// error it returns is a *paramError naming the parameter at fault.
func parseParams(v url.Values, cc cursorCodec) (outputs.Query, error) {
	var unknown []string
	for k, vals := range v {
		rep, ok := known[k]
		switch {
		case !ok:
			unknown = append(unknown, strconv.Quote(k))
		case !rep && len(vals) > 1:
			return outputs.Query{}, badParam("parameter %s given %d times; give it once", k, len(vals))
		case len(vals) > maxValues:
			return outputs.Query{}, badParam("parameter %s given %d times; at most %d values are allowed", k, len(vals), maxValues)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return outputs.Query{}, badParam("unknown parameter %s; known parameters are limit, start_time, end_time, event_name, event_type, user_uid, order, cursor", strings.Join(unknown, ", "))
	}

	q := outputs.Query{Limit: DefaultLimit}
	if s, ok := single(v, "limit"); ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > MaxLimit {
			return outputs.Query{}, badParam("limit %q is not a whole number from 1 to %d", s, MaxLimit)
		}
		q.Limit = n
	}
	var err error
	if q.Start, err = timeParam(v, "start_time"); err != nil {
		return outputs.Query{}, err
	}
	if q.End, err = timeParam(v, "end_time"); err != nil {
		return outputs.Query{}, err
	}
	if !q.Start.IsZero() && !q.End.IsZero() && q.Start.After(q.End) {
		return outputs.Query{}, badParam("start_time %s is after end_time %s", event.FormatTime(q.Start), event.FormatTime(q.End))
	}
	if q.Names, err = stringsParam(v, "event_name"); err != nil {
		return outputs.Query{}, err
	}
	if q.Types, err = stringsParam(v, "event_type"); err != nil {
		return outputs.Query{}, err
	}
	for _, s := range v["user_uid"] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return outputs.Query{}, badParam("user_uid %q is not a whole number", s)
		}
		q.UserUIDs = append(q.UserUIDs, n)
	}
	order, hasOrder := single(v, "order")
	switch order {
	case "", "desc":
		q.Order = outputs.Desc
	case "asc":
		q.Order = outputs.Asc
	default:
		return outputs.Query{}, badParam("order %q is not asc or desc", order)
	}
	if s, ok := single(v, "cursor"); ok {
		c, o, err := cc.decode(s)
		if err != nil {
			return outputs.Query{}, badParam("cursor: %v; start again without it", err)
		}
		switch {
		case !hasOrder:
			q.Order = o // the cursor knows the order it was made for
		case o != q.Order:
			return outputs.Query{}, badParam("cursor was issued for order=%s, not order=%s", orderName(o), order)
		}
		q.After = &c
	}
	return q, nil
}

// encodeParams is the inverse of parseParams: parsing its result gives q
// again. Times are RFC 3339 in UTC with all their digits.
func encodeParams(q outputs.Query, cc cursorCodec) url.Values {
	v := url.Values{}
	v.Set("limit", strconv.Itoa(q.Limit))
	v.Set("order", orderName(q.Order))
	if !q.Start.IsZero() {
		v.Set("start_time", q.Start.UTC().Format(time.RFC3339Nano))
	}
	if !q.End.IsZero() {
		v.Set("end_time", q.End.UTC().Format(time.RFC3339Nano))
	}
	for _, s := range q.Names {
		v.Add("event_name", s)
	}
	for _, s := range q.Types {
		v.Add("event_type", s)
	}
	for _, n := range q.UserUIDs {
		v.Add("user_uid", strconv.FormatInt(n, 10))
	}
	if q.After != nil {
		v.Set("cursor", cc.encode(*q.After, q.Order))
	}
	return v
}

func orderName(o outputs.Order) string {
	if o == outputs.Asc {
		return "asc"
	}
	return "desc"
}

// single returns the one value of a non-repeatable parameter.
func single(v url.Values, k string) (string, bool) {
	vals := v[k]
	if len(vals) == 0 {
		return "", false
	}
	return vals[0], true
}

// timeParam reads an ISO 8601 time: "2021-08-17T20:51:47.268843" (no zone:
// UTC), the same with "Z" or an offset, or a date "2021-08-17" (midnight UTC).
func timeParam(v url.Values, k string) (time.Time, error) {
	s, ok := single(v, k)
	if !ok {
		return time.Time{}, nil
	}
	t, err := event.ParseTime(s)
	if err != nil {
		t, err = time.ParseInLocation(time.DateOnly, s, time.UTC)
	}
	if err != nil || t.IsZero() {
		return time.Time{}, badParam("%s %q is not an ISO 8601 time such as 2021-08-17T20:51:47.268843 (UTC) or 2021-08-17T22:51:47+02:00", k, s)
	}
	return t, nil
}

// stringsParam returns the values of a repeatable text parameter.
func stringsParam(v url.Values, k string) ([]string, error) {
	vals := v[k]
	for _, s := range vals {
		if s == "" {
			return nil, badParam("%s is empty; give a value or leave the parameter out", k)
		}
	}
	return slices.Clone(vals), nil
}
