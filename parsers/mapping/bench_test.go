package mapping

import (
	"testing"
)

const benchLine = `{"ts":"2024-07-12T13:33:01.268843Z","msg":"audit","audit":{"event_id":2882429806056571124,"resource":"api_key","action":"CREATE","user_uid":7,"details":{"key_id":"k1","scopes":["read","write"],"n":12}}}`

// BenchmarkMap compares a mapping of plain paths only with one that has a
// single general expression (which converts the record to cty once).
func BenchmarkMap(b *testing.B) {
	for _, bm := range []struct {
		name    string
		mapping string
	}{
		{name: "plain", mapping: plainMapping},
		{name: "one general", mapping: plainMapping + "\nwhen = record.msg == \"audit\""},
		{name: "all general", mapping: generalMapping},
	} {
		b.Run(bm.name, func(b *testing.B) {
			m := compile(b, bm.mapping)
			rec := record(b, benchLine)
			line := []byte(benchLine)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Map(rec, line, testSrc); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestMap_PlainPathAllocs checks that a mapping of plain paths converts
// nothing to cty: mapping one line allocates (almost) nothing.
func TestMap_PlainPathAllocs(t *testing.T) {
	m := compile(t, plainMapping+"\nwhen = record.is_audit")
	if m.needRecord {
		t.Fatal("plain mapping converts the record to cty")
	}
	rec := record(t, `{"is_audit":true,"ts":"2024-07-12T13:33:01.268843Z","audit":{"event_id":5,"resource":"api_key","action":"create","user_uid":7,"details":{"k":"v"}}}`)
	line := []byte(`x`)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := m.Map(rec, line, testSrc); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > 0 {
		t.Errorf("Map allocates %v times per line, want 0", allocs)
	}
}
