package agent

import (
	"os"
	"runtime/debug"
)

// DefaultGCPercent is the garbage collector's GOGC the agent runs with when
// the environment sets none. The agent's live heap is small (a few MiB: the
// line queue and the batches in flight) and it allocates for every line it
// decodes, so with Go's default of 100 the collector runs every few thousand
// lines. 200 halves that: about 15% less CPU on a backfill for about 7 MiB
// more peak RSS (BENCHMARKS.md).
const DefaultGCPercent = 200

// TuneGC sets GOGC to [DefaultGCPercent] unless the GOGC environment
// variable is set, which, like GOMEMLIMIT, then applies as for any Go
// program. It returns the GOGC in effect (-1: off). It is process-wide:
// call it once at start, before the agent runs.
func TuneGC() int {
	if _, set := os.LookupEnv("GOGC"); set {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	debug.SetGCPercent(DefaultGCPercent)
	return DefaultGCPercent
}
