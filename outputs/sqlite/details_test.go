package sqlite

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
)

// TestStore_WriteDetails checks that the store keeps event_details as the
// text event.MarshalDetails writes, so that replays compare as equal
// strings, and that an event whose details fail to encode half way is
// rejected alone, leaving nothing of its partial encoding in the next row.
func TestStore_WriteDetails(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir())
	evs := makeEvents(4)
	evs[0].Details = map[string]any{"b": json.Number("1.50"), "a": "x<y>&\"\\\n\u2028é\xff", "c": []any{true, nil, json.Number("-0")}}
	evs[1].Details = map[string]any{"a": "written first", "n": json.Number("1x")}
	evs[2].Details = nil
	err := s.Write(t.Context(), evs)
	be, ok := errors.AsType[*outputs.BatchError](err)
	if !ok {
		t.Fatalf("Write error = %v, want *outputs.BatchError", err)
	}
	want := []outputs.ItemError{{Index: 1, Retryable: false, Reason: `encode event_details: json: invalid number literal "1x"`}}
	if diff := cmp.Diff(want, be.Items); diff != "" {
		t.Errorf("BatchError items (-want +got):\n%s", diff)
	}
	for _, i := range []int{0, 2, 3} {
		wantText, err := event.MarshalDetails(evs[i].Details)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		if err := s.w.QueryRowContext(t.Context(), "SELECT event_details FROM events WHERE event_id = ?", evs[i].ID).Scan(&got); err != nil {
			t.Fatalf("event %d: %v", evs[i].ID, err)
		}
		if got != string(wantText) {
			t.Errorf("event %d: event_details = %s, want %s", evs[i].ID, got, wantText)
		}
	}
}
