package sqlite

import (
	"encoding/json"
	"testing"

	"github.com/auditship/auditship/event"
)

// TestAppendDetails checks that the store writes event_details byte for byte
// as event.MarshalDetails does, so that replays compare as equal strings.
func TestAppendDetails(t *testing.T) {
	t.Parallel()
	tests := []map[string]any{
		nil,
		{},
		{"b": json.Number("1.50"), "a": "x<y>&\"\\\n\u2028é\xff", "c": []any{true, nil, json.Number("-0"), "s"}},
		{"nested": map[string]any{"z": json.Number("1e2"), "y": map[string]any{}}, "int": int64(-7), "i": 3, "f": 1.5},
		{"k1": 1, "k2": 2, "k3": 3, "k4": 4, "k5": 5, "k6": 6, "k7": 7, "k8": 8, "k9": 9, "k10": 10,
			"k11": 11, "k12": 12, "k13": 13, "k14": 14, "k15": 15, "k16": 16, "k17": 17}, // more keys than the stack array
		{"empty": json.Number("")},
	}
	for _, d := range tests {
		want, err := event.MarshalDetails(d)
		if err != nil {
			t.Fatalf("MarshalDetails(%v): %v", d, err)
		}
		got, err := appendDetails([]byte("prefix"), d)
		if err != nil {
			t.Fatalf("appendDetails(%v): %v", d, err)
		}
		if string(got) != "prefix"+string(want) {
			t.Errorf("appendDetails(%v) = %s, want prefix%s", d, got, want)
		}
	}
	for _, d := range []map[string]any{{"n": json.Number("1x")}, {"c": make(chan int)}} {
		if _, err := appendDetails(nil, d); err == nil {
			t.Errorf("appendDetails(%v) succeeded, want an error", d)
		}
		if _, err := event.MarshalDetails(d); err == nil {
			t.Errorf("MarshalDetails(%v) succeeded, want an error", d)
		}
	}
}
