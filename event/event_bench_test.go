package event

import "testing"

// benchLine is a typical 330-byte platform audit line.
var benchLine = []byte(`{"ts":"2026-11-28T09:02:48.063705Z","level":"info","service":"api-server","host":"api-server-6e3034-Gwlqs","msg":"audit","request_id":"req-2e9070bf","span_id":"5f1c0a9e7b3d2c41","audit":{"resource":"datasource","action":"create","user_uid":2,"details":{"datasource_uid":41,"dataset_uid":12,"split":"train","path":"s3://acme-ml-data/claims/2026q4/train.parquet","num_rows":120512}}}`)

func BenchmarkDeriveID(b *testing.B) {
	b.SetBytes(int64(len(benchLine)))
	b.ReportAllocs()
	origin := OriginOf([]byte(`{"ts":"2026-11-28T08:59:23.947750Z","msg":"service started"}`))
	var off int64
	for b.Loop() {
		if DeriveID(origin, off, benchLine) <= 0 {
			b.Fatal("id not positive")
		}
		off += int64(len(benchLine)) + 1
	}
}
