package query

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/url"
	"regexp"
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

// request is a parsed GET /audit-logs.
type request struct {
	// q is the search as given: q.End is zero without end_time (the pin
	// is applied by [request.search]); q.After is cursor.pos.
	q outputs.Query
	// endZero: end_time is 0001-01-01T00:00:00Z, the zero time.Time that
	// q.End uses for "no bound". No event is before it: nothing matches.
	endZero bool
	// cursor is the decoded cursor parameter; nil without one.
	cursor *cursorToken
}

// search returns the store search of r: q, bounded above, when it has no
// end_time, by the pin: the cursor's, or now for the first page of an
// ascending pager, so that its first page holds the same events as the
// pages that follow it would (an event dated in the future is in none of
// them, whatever the limit).
func (r request) search(now time.Time) outputs.Query {
	q := r.q
	switch {
	case !q.End.IsZero():
	case r.cursor != nil && !r.cursor.pin.IsZero():
		q.End = r.cursor.pin
	case r.cursor == nil && q.Order == outputs.Asc:
		q.End = now
	}
	return q
}

// parseParams turns the query string of GET /audit-logs into a request.
// Every error it returns is a *paramError naming the parameter at fault.
func parseParams(v url.Values, cc cursorCodec) (request, error) {
	var unknown []string
	for k, vals := range v {
		rep, ok := known[k]
		switch {
		case !ok:
			unknown = append(unknown, strconv.Quote(k))
		case !rep && len(vals) > 1:
			return request{}, badParam("parameter %s given %d times; give it once", k, len(vals))
		case len(vals) > maxValues:
			return request{}, badParam("parameter %s given %d times; at most %d values are allowed", k, len(vals), maxValues)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		return request{}, badParam("unknown parameter %s; known parameters are limit, start_time, end_time, event_name, event_type, user_uid, order, cursor", strings.Join(unknown, ", "))
	}

	var r request
	q := &r.q
	q.Limit = DefaultLimit
	if s, ok := single(v, "limit"); ok {
		n, err := strconv.Atoi(s)
		if !digits(s) || err != nil || n < 1 || n > MaxLimit {
			return request{}, badParam("limit %q is not a whole number from 1 to %d (digits only)", s, MaxLimit)
		}
		q.Limit = n
	}
	start, _, err := timeParam(v, "start_time")
	if err != nil {
		return request{}, err
	}
	q.Start = start // the zero time is no lower bound: the same as none
	end, hasEnd, err := timeParam(v, "end_time")
	if err != nil {
		return request{}, err
	}
	q.End = end
	r.endZero = hasEnd && end.IsZero()
	if !q.Start.IsZero() && (!q.End.IsZero() || r.endZero) && q.Start.After(q.End) {
		return request{}, badParam("start_time %s is after end_time %s", event.FormatTime(q.Start), event.FormatTime(q.End))
	}
	if q.Names, err = stringsParam(v, "event_name"); err != nil {
		return request{}, err
	}
	if q.Types, err = stringsParam(v, "event_type"); err != nil {
		return request{}, err
	}
	for _, s := range v["user_uid"] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || !digits(strings.TrimPrefix(s, "-")) {
			return request{}, badParam("user_uid %q is not a whole number", s)
		}
		q.UserUIDs = append(q.UserUIDs, n)
	}
	order, hasOrder := single(v, "order")
	switch {
	case !hasOrder || order == "desc":
		q.Order = outputs.Desc
	case order == "asc":
		q.Order = outputs.Asc
	default:
		return request{}, badParam("order %q is not asc or desc", order)
	}
	if s, ok := single(v, "cursor"); ok {
		c, err := cc.decode(s)
		if err != nil {
			return request{}, badParam("cursor: %v; start again without it", err)
		}
		switch {
		case !hasOrder:
			q.Order = c.order // the cursor knows the order it was made for
		case c.order != q.Order:
			return request{}, badParam("cursor was issued for order=%s, not order=%s", orderName(c.order), order)
		}
		if c.digest != nil && !hmac.Equal(c.digest, paramsDigest(r)) {
			return request{}, badParam("cursor was issued for other parameters: send start_time, end_time, event_name, event_type, user_uid and order as on the page that gave it (only limit may change), or start again without cursor")
		}
		r.cursor = &c
		q.After = &c.pos
	}
	return r, nil
}

// paramsDigest is the digest of the parameters a cursor is tied to: the
// filters, the time bounds and the order (not limit, not the cursor). Values
// of a repeatable parameter count as a set, times as instants.
func paramsDigest(r request) []byte {
	h := sha256.New()
	var b []byte
	b = append(b, byte(r.q.Order))
	putTime := func(t time.Time) {
		b = binary.BigEndian.AppendUint64(b, uint64(t.Unix()))
		b = binary.BigEndian.AppendUint32(b, uint32(t.Nanosecond()))
	}
	switch {
	case r.q.Start.IsZero():
		b = append(b, 0)
	default:
		b = append(b, 1)
		putTime(r.q.Start)
	}
	switch {
	case r.endZero:
		b = append(b, 2)
	case r.q.End.IsZero():
		b = append(b, 0)
	default:
		b = append(b, 1)
		putTime(r.q.End)
	}
	for _, set := range [][]string{r.q.Names, r.q.Types} {
		set = slices.Compact(slices.Sorted(slices.Values(set)))
		b = binary.BigEndian.AppendUint32(b, uint32(len(set)))
		for _, s := range set {
			b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
			b = append(b, s...)
		}
	}
	uids := slices.Compact(slices.Sorted(slices.Values(r.q.UserUIDs)))
	b = binary.BigEndian.AppendUint32(b, uint32(len(uids)))
	for _, n := range uids {
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	h.Write(b)
	return h.Sum(nil)[:digestLen]
}

// encodeParams is the inverse of parseParams: parsing its result gives r
// again, with a cursor tied to r's parameters. Times are RFC 3339 in UTC
// with all their digits.
func encodeParams(r request, cc cursorCodec) url.Values {
	q := r.q
	v := url.Values{}
	v.Set("limit", strconv.Itoa(q.Limit))
	v.Set("order", orderName(q.Order))
	if !q.Start.IsZero() {
		v.Set("start_time", q.Start.UTC().Format(time.RFC3339Nano))
	}
	switch {
	case r.endZero:
		v.Set("end_time", time.Time{}.Format(time.RFC3339Nano))
	case !q.End.IsZero():
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
	if r.cursor != nil {
		c := *r.cursor
		c.order = q.Order
		c.digest = paramsDigest(r)
		v.Set("cursor", cc.encode(c))
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

// timeParamPattern is the pattern of the TimeParam schema of openapi.json:
// ISO 8601 with "." or "," before the fraction of a second.
const timeParamPattern = `^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}([.,]\d{1,9})?(Z|[+-]\d{2}:\d{2})?)?$`

var timeParamRE = regexp.MustCompile(timeParamPattern)

// timeParam reads an ISO 8601 time: "2021-08-17T20:51:47.268843" (no zone:
// UTC), the same with "Z" or an offset, or a date "2021-08-17" (midnight
// UTC); the fraction may follow a comma. given reports whether the parameter
// is present: 0001-01-01T00:00:00Z is the zero time.Time, which is a valid
// value.
func timeParam(v url.Values, k string) (t time.Time, given bool, err error) {
	s, ok := single(v, k)
	if !ok {
		return time.Time{}, false, nil
	}
	bad := badParam("%s %q is not an ISO 8601 time such as 2021-08-17T20:51:47.268843 (UTC) or 2021-08-17T22:51:47+02:00", k, s)
	if !timeParamRE.MatchString(s) {
		return time.Time{}, true, bad
	}
	if len(s) == len(time.DateOnly) {
		t, err = time.ParseInLocation(time.DateOnly, s, time.UTC)
	} else {
		t, err = event.ParseTime(strings.Replace(s, ",", ".", 1))
	}
	if err != nil {
		return time.Time{}, true, bad
	}
	return t.UTC(), true, nil
}

// digits reports whether s is one or more ASCII digits.
func digits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
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
