package config

import (
	"testing"

	"github.com/auditship/auditship/agent/tailer"
)

// TestQueue checks that the chunked line queue never holds more lines than
// max_inflight_events, nor more bytes than max_inflight_bytes when every
// chunk is as large as it may be.
func TestQueue(t *testing.T) {
	t.Parallel()
	cases := []struct {
		events, bytes, maxLine int
		chunks, chunkLines     int
	}{
		{8192, 32 << 20, 1 << 20, 8, 512}, // the defaults
		{64, 32 << 20, 1 << 20, 8, 4},
		{8192, 32 << 20, 16 << 20, 2, 512},   // 2 chunks of a 16 MiB line each
		{100000, 1 << 20, 4 << 10, 8, 512},   // at most 8 chunks
		{100000, 256 << 10, 4 << 10, 4, 512}, // 4 chunks of at most 64 KiB
		{1, 1 << 20, 1 << 10, 2, 1},
	}
	for _, c := range cases {
		cfg := &Config{}
		cfg.Pipeline.MaxInflightEvents, cfg.Pipeline.MaxInflightBytes = c.events, c.bytes
		cfg.Inputs = []Input{{Tailer: tailer.Config{MaxLineBytes: c.maxLine}}}
		chunks, chunkLines := cfg.Queue()
		if chunks != c.chunks || chunkLines != c.chunkLines {
			t.Errorf("events %d, bytes %d, max_line_bytes %d: Queue() = %d, %d; want %d, %d",
				c.events, c.bytes, c.maxLine, chunks, chunkLines, c.chunks, c.chunkLines)
		}
		if chunks > 2 && chunks*chunkLines > c.events {
			t.Errorf("events %d: %d chunks of %d lines exceed max_inflight_events", c.events, chunks, chunkLines)
		}
		if chunks > 2 && chunks*max(tailer.ChunkBytes, c.maxLine) > c.bytes {
			t.Errorf("bytes %d: %d chunks exceed max_inflight_bytes", c.bytes, chunks)
		}
	}
}
