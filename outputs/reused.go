package outputs

import (
	"encoding/json"
	"fmt"
	"math/big"
	"time"
	"unicode/utf8"

	"github.com/auditship/auditship/event"
)

// ReusedID compares stored, the event a store holds under e's event_id,
// with e. storedDetails and details are their event_details encoded as
// JSON objects. event_time is compared at precision, the store's
// resolution (time.Nanosecond for the embedded store, time.Microsecond
// for Elasticsearch), so e's time is truncated to it first; details are
// compared as JSON values (key order and number spelling do not matter:
// 1.0 equals 1). It returns "" when they are the same event (a replay of a
// stored line) and otherwise the reason to reject e, not retryable, which
// names both events (or, when only their details differ, shows both
// details, each cut to 200 bytes):
//
//	event_id 7 already stored with different content: stored event_name "user", ...; this one event_name "user", ...
func ReusedID(stored event.Event, storedDetails string, e event.Event, details string, precision time.Duration) string {
	t := e.Time.Truncate(precision)
	same := stored.Time.Equal(t) && stored.Name == e.Name && stored.Type == e.Type && stored.UserUID == e.UserUID
	if same && storedDetails != details {
		a, err1 := event.UnmarshalDetails([]byte(storedDetails))
		b, err2 := event.UnmarshalDetails([]byte(details))
		same = err1 == nil && err2 == nil && jsonEqual(a, b)
	}
	if same {
		return ""
	}
	if stored.Time.Equal(t) && stored.Name == e.Name && stored.Type == e.Type && stored.UserUID == e.UserUID {
		return fmt.Sprintf("event_id %d already stored with different content: event_details differ: stored %s; this one %s",
			e.ID, excerpt(storedDetails), excerpt(details))
	}
	return fmt.Sprintf("event_id %d already stored with different content: stored event_name %q, event_type %q, event_time %s, user_uid %d; this one event_name %q, event_type %q, event_time %s, user_uid %d",
		e.ID, stored.Name, stored.Type, stored.Time.UTC().Format(time.RFC3339Nano), stored.UserUID, e.Name, e.Type, e.Time.UTC().Format(time.RFC3339Nano), e.UserUID)
}

// excerptBytes bounds each event_details shown in a reused-id reason.
const excerptBytes = 200

// excerpt returns s, cut to excerptBytes bytes (on a UTF-8 boundary) with
// "…" when longer.
func excerpt(s string) string {
	if len(s) <= excerptBytes {
		return s
	}
	i := excerptBytes
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + "…"
}

// jsonEqual reports whether two decoded JSON values are equal, comparing
// json.Number values exactly as numbers (1.0 equals 1, 1e2 equals 100).
func jsonEqual(a, b any) bool {
	switch a := a.(type) {
	case map[string]any:
		b, ok := b.(map[string]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for k, av := range a {
			bv, ok := b[k]
			if !ok || !jsonEqual(av, bv) {
				return false
			}
		}
		return true
	case []any:
		b, ok := b.([]any)
		if !ok || len(a) != len(b) {
			return false
		}
		for i := range a {
			if !jsonEqual(a[i], b[i]) {
				return false
			}
		}
		return true
	case json.Number:
		b, ok := b.(json.Number)
		if !ok {
			return false
		}
		if a == b {
			return true
		}
		ra, ok1 := new(big.Rat).SetString(string(a))
		rb, ok2 := new(big.Rat).SetString(string(b))
		return ok1 && ok2 && ra.Cmp(rb) == 0
	default: // string, bool, nil
		return a == b
	}
}
