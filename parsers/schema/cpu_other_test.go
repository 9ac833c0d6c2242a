//go:build !unix

package schema

// cpuNanos is 0 where getrusage is not available.
func cpuNanos() int64 { return 0 }
