//go:build unix

package file

import "syscall"

// cpuNanos returns the CPU time (user and system, all threads) the process
// has used, so that benchmarks can report CPU per event: on a shared
// machine wall time per op depends on the load.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
