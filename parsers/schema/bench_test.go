package schema

import (
	"bytes"
	"encoding/json"
	"os"
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
		defer reportCPU(b, cpuNanos())
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
		defer reportCPU(b, cpuNanos())
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
		defer reportCPU(b, cpuNanos())
		e := &event.Event{Name: "dataset", Type: "create", Details: map[string]any{"dataset_uid": "abc", "name": "d"}}
		for b.Loop() {
			if err := c.Apply(e); err == nil {
				b.Fatal("want error")
			}
		}
	})
	b.Run("secret_hit", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b, cpuNanos())
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

// reportCPU reports the CPU time per op since cpu0.
func reportCPU(b *testing.B, cpu0 int64) {
	b.ReportMetric(float64(cpuNanos()-cpu0)/float64(b.N), "cpu-ns/op")
}

// loadBenchEvents reads testdata/bench_events.ndjson: 256 audit events of
// the benchmark generator (bench/gen -seed 1), every (event_name,
// event_type) it produces, with their details as the platform logs them
// (before redaction).
func loadBenchEvents(tb testing.TB) []event.Event {
	tb.Helper()
	b, err := os.ReadFile("testdata/bench_events.ndjson")
	if err != nil {
		tb.Fatal(err)
	}
	var evs []event.Event
	for l := range bytes.Lines(b) {
		var e event.Event
		if err := json.Unmarshal(l, &e); err != nil {
			tb.Fatalf("%s: %v", l, err)
		}
		evs = append(evs, e)
	}
	return evs
}

// cloneValue deep-copies a JSON-shaped value.
func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneValue(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = cloneValue(e)
		}
		return l
	}
	return v
}

// BenchmarkApplyMix applies the built-in catalog to the generated event
// mix. "steady" reuses the details (secrets are censored on the first pass
// only); "fresh" applies to a deep copy of each event's details, as the
// agent does with freshly decoded lines, and "clone" measures the copy alone.
// ns/event is per event.
func BenchmarkApplyMix(b *testing.B) {
	c, diags := New(DefaultSettings(), nil)
	if diags.HasErrors() {
		b.Fatal(diags.Error())
	}
	evs := loadBenchEvents(b)
	var cpu0 int64
	perEvent := func(b *testing.B) {
		n := float64(b.N * len(evs))
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/event")
		b.ReportMetric(float64(cpuNanos()-cpu0)/n, "cpu-ns/event")
	}
	b.Run("steady", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 = cpuNanos()
		for b.Loop() {
			for i := range evs {
				if err := c.Apply(&evs[i]); err != nil {
					b.Fatal(err)
				}
			}
		}
		perEvent(b)
	})
	orig := loadBenchEvents(b)
	b.Run("fresh", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 = cpuNanos()
		for b.Loop() {
			for i := range orig {
				e := orig[i]
				e.Details = cloneValue(e.Details).(map[string]any)
				if err := c.Apply(&e); err != nil {
					b.Fatal(err)
				}
			}
		}
		perEvent(b)
	})
	b.Run("clone", func(b *testing.B) {
		b.ReportAllocs()
		cpu0 = cpuNanos()
		for b.Loop() {
			for i := range orig {
				e := orig[i]
				e.Details = cloneValue(e.Details).(map[string]any)
			}
		}
		perEvent(b)
	})
}

// scrubBenchStrings are detail strings as the platform logs them: most hold
// no secret, some hold a trigger word or character but no secret (the
// prechecks pass and a regular expression runs), none is censored.
var scrubBenchStrings = map[string][]string{
	"plain": {
		"insurance-claims-2026q4", "Claims filed Oct-Nov 2026", "review round 2",
		"added reviewer for the finance split", "claims-classifier", "gpt-4o-mini",
		"dataset uploaded by ada from the web console", "fraud", "needs_review",
	},
	"urls_and_addresses": {
		"https://llm-gateway.internal.example/v1", "s3://acme-ml-data/claims/2026q4/train.parquet",
		"10.0.0.12:53412", "postgres://db.internal:5432/claims", "rapidfuzz==3.10.1",
	},
	"trigger_words": {
		"rotated key_name=prod-ci", "password reset requested", "label != 'needs_review'",
		"the key: value pairs of the config", "token count=512 for prompt", "basic plan: 5 seats",
	},
}

// BenchmarkScrub measures the detector on strings that contain no secret:
// the per-string cost every detail value pays.
func BenchmarkScrub(b *testing.B) {
	for _, name := range []string{"plain", "urls_and_addresses", "trigger_words"} {
		ss := scrubBenchStrings[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				for _, s := range ss {
					if _, n := scrub(s); n != 0 {
						b.Fatalf("scrub(%q) found a secret", s)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ss)), "ns/string")
		})
	}
}
