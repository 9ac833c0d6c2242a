package event

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestAppendDetails checks that AppendDetails and MarshalDetails write
// event_details byte for byte as encoding/json does, so that stored and
// shipped details compare as equal strings, and fail where it fails.
func TestAppendDetails(t *testing.T) {
	t.Parallel()
	tests := []map[string]any{
		{},
		{"b": json.Number("1.50"), "a": "x<y>&\"\\\n\u2028é\xff", "c": []any{true, nil, json.Number("-0"), "s"}},
		{"nested": map[string]any{"z": json.Number("1e2"), "y": map[string]any{}}, "int": int64(-7), "i": 3, "f": 1.5},
		{"k1": 1, "k2": 2, "k3": 3, "k4": 4, "k5": 5, "k6": 6, "k7": 7, "k8": 8, "k9": 9, "k10": 10,
			"k11": 11, "k12": 12, "k13": 13, "k14": 14, "k15": 15, "k16": 16, "k17": 17},
		{"empty": json.Number("")},
	}
	for _, d := range tests {
		want, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("json.Marshal(%v): %v", d, err)
		}
		got, err := AppendDetails([]byte("prefix"), d)
		if err != nil || string(got) != "prefix"+string(want) {
			t.Errorf("AppendDetails(%v) = %s, %v; want prefix%s", d, got, err, want)
		}
		if got, err := MarshalDetails(d); err != nil || string(got) != string(want) {
			t.Errorf("MarshalDetails(%v) = %s, %v; want %s", d, got, err, want)
		}
	}
	if got, err := AppendDetails([]byte("x"), nil); err != nil || string(got) != "x{}" {
		t.Errorf("AppendDetails(nil) = %s, %v; want x{}", got, err)
	}
	if got, err := MarshalDetails(nil); err != nil || string(got) != "{}" {
		t.Errorf("MarshalDetails(nil) = %s, %v; want {}", got, err)
	}
	for _, d := range []map[string]any{{"n": json.Number("1x")}, {"c": make(chan int)}} {
		_, jerr := json.Marshal(d)
		if _, err := AppendDetails(nil, d); err == nil || err.Error() != "encode event_details: "+jerr.Error() {
			t.Errorf("AppendDetails(%v) error %v, want encode event_details: %v", d, err, jerr)
		}
		if b, err := MarshalDetails(d); err == nil || b != nil || !strings.HasPrefix(err.Error(), "encode event_details: ") {
			t.Errorf("MarshalDetails(%v) = %s, %v; want nil and an error", d, b, err)
		}
	}
}
