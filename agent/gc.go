package agent

import (
	"os"
	"runtime/debug"
)

// DefaultGCPercent is the garbage collector's GOGC the agent runs with when
// the environment sets none. The agent's live heap is small (a few MiB: the
// line queue and the batches in flight) and it allocates for every line it
// decodes, so with Go's default of 100 the collector runs every few thousand
// lines. 200 halves that: about 13% less CPU on a backfill (BENCHMARKS.md).
const DefaultGCPercent = 200

// DefaultMemoryLimit is the soft memory limit (bytes, as GOMEMLIMIT) the agent
// runs with when the environment sets none. It keeps what GOGC=200 costs in
// memory bounded where the live heap is larger, such as two batches in flight
// to Elasticsearch (peak RSS 53 → 41 MiB on the 1M-line backfill). It is
// soft: a live heap that needs more (large batch_bytes with long lines) makes
// the collector run more often, using at most about half the CPU, and never
// fails an allocation.
const DefaultMemoryLimit = 28 << 20

// TuneGC sets GOGC to [DefaultGCPercent] and the soft memory limit to
// [DefaultMemoryLimit], each unless its environment variable (GOGC,
// GOMEMLIMIT) is set, which then applies as for any Go program. It returns
// the GOGC (-1: off) and the memory limit in bytes in effect. It is
// process-wide: call it once at start, before the agent runs.
func TuneGC() (gcPercent int, memoryLimit int64) {
	if _, set := os.LookupEnv("GOGC"); set {
		gcPercent = debug.SetGCPercent(100)
		debug.SetGCPercent(gcPercent)
	} else {
		debug.SetGCPercent(DefaultGCPercent)
		gcPercent = DefaultGCPercent
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
	return gcPercent, debug.SetMemoryLimit(-1)
}
