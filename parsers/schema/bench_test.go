package schema

import (
	"encoding/json"
	"testing"

	"github.com/auditship/auditship/event"
)

// benchDetails returns api_key details as the platform logs them. Apply
// redacts in place; the key is already censored, so reusing the map across
// iterations measures the steady state.
func benchDetails() map[string]any {
	return map[string]any{
		"api_key_uid":  jsonNumber("17"),
		"censored_key": "************************************************************E4YO",
		"name":         "ci-pipeline",
	}
}

func jsonNumber(s string) any { return json.Number(s) }

func BenchmarkApply(b *testing.B) {
	c, diags := New(DefaultSettings(), nil)
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	b.Run("api_key", func(b *testing.B) {
		b.ReportAllocs()
		d := benchDetails()
		e := &event.Event{Name: "api_key", Type: "create", Details: d}
		for b.Loop() {
			if err := c.Apply(e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("batch_nested", func(b *testing.B) {
		b.ReportAllocs()
		e := &event.Event{Name: "batch", Type: "update", Details: map[string]any{
			"batch_uid": jsonNumber("4"), "dataset_uid": jsonNumber("12"), "name": "review round 2",
			"assignees": []any{jsonNumber("2"), jsonNumber("5"), jsonNumber("9")},
			"changes":   map[string]any{"assignees": []any{jsonNumber("9")}, "note": "added reviewer for the finance split"},
		}}
		for b.Loop() {
			if err := c.Apply(e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("invalid", func(b *testing.B) {
		b.ReportAllocs()
		e := &event.Event{Name: "dataset", Type: "create", Details: map[string]any{"dataset_uid": "abc", "name": "d"}}
		for b.Loop() {
			if err := c.Apply(e); err == nil {
				b.Fatal("want error")
			}
		}
	})
	b.Run("secret_hit", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			e := &event.Event{Name: "dataset", Type: "create", Details: map[string]any{
				"dataset_uid": jsonNumber("1"), "name": "d", "description": "Authorization: Bearer 0123456789abcdef",
			}}
			if err := c.Apply(e); err != nil {
				b.Fatal(err)
			}
		}
	})
}
