package tailer

import (
	"fmt"
	"testing"
)

// TestTailer_WaitingFilesGetHandles: with more matched files than
// MaxOpenFiles and the default CloseInactive (5m), files read to their end
// give their handle to waiting files at once, and a released file that
// grows is read again.
func TestTailer_WaitingFilesGetHandles(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "*.log")
	h.cfg.MaxOpenFiles = 2
	var want [][]string
	for i := range 8 {
		n := fmt.Sprintf("f%d", i)
		write(t, h.path(n+".log"), n+"a\n")
		want = append(want, []string{n + "a"})
	}
	h.start()
	h.check(want...)
	for i := range 8 {
		n := fmt.Sprintf("f%d", i)
		write(t, h.path(n+".log"), n+"b\n")
		want[i] = append(want[i], n+"b")
	}
	h.check(want...)
}
