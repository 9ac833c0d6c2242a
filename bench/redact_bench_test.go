package bench

import (
	"encoding/json"
	"testing"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/parsers/schema"
)

// BenchmarkRedaction measures what censoring costs per event, through the
// built-in catalog's Apply: a declared sensitive attribute that must be
// censored, a secret found by the detector inside a nested value, and the
// common case of a detector scan that finds nothing. Apply censors in place,
// so each op works on 1,000 fresh events built before the timer runs.
func BenchmarkRedaction(b *testing.B) {
	c, diags := schema.New(schema.DefaultSettings(), schema.Builtin())
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	for _, bm := range []struct {
		name string
		make func() event.Event
	}{
		{"sensitive_attribute", func() event.Event {
			return event.Event{Name: "external_llm_config", Type: "create", Details: map[string]any{
				"config_uid": json.Number("2"), "provider": "openai", "model_name": "gpt-4o-mini",
				"workspace_uid": json.Number("3"), "endpoint_url": "https://llm-gateway.internal.example/v1",
				"api_key": "sk-demo-NOTREAL0000000000wxyz",
			}}
		}},
		{"detected_secret", func() event.Event {
			return event.Event{Name: "application", Type: "update", Details: map[string]any{
				"application_uid": json.Number("8"), "application_name": "claims-classifier",
				"changes": map[string]any{
					"label_space":    []any{"fraud", "legit", "needs_review"},
					"webhook_header": "Authorization: Bearer demo0000000000000000abcd",
				},
			}}
		}},
		{"no_secret", func() event.Event {
			return event.Event{Name: "dataset", Type: "create", Details: map[string]any{
				"dataset_uid": json.Number("12"), "name": "insurance-claims-2026q4",
				"workspace_uid": json.Number("3"), "description": "Claims filed Oct-Nov 2026",
			}}
		}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			evs := make([]event.Event, 1000)
			for b.Loop() {
				b.StopTimer()
				for i := range evs {
					evs[i] = bm.make()
				}
				b.StartTimer()
				for i := range evs {
					if err := c.Apply(&evs[i]); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(evs)), "ns/event")
		})
	}
}
