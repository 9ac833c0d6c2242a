// Command gen writes a deterministic file of realistic platform log lines
// for the benchmarks (see bench/internal/loggen):
//
//	go run ./bench/gen -lines 1000000 -out FILE -seed 1
//
// It prints one JSON summary line to standard output: lines, audit lines and
// bytes written.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/auditship/auditship/bench/internal/loggen"
)

func main() {
	lines := flag.Int("lines", 1_000_000, "number of lines to write")
	out := flag.String("out", "", "file to write (required)")
	seed := flag.Uint64("seed", 1, "random seed; the same seed gives the same file")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gen: -out is required")
		os.Exit(2)
	}
	if err := run(*out, *lines, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(path string, n int, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	g := loggen.New(seed)
	ts := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	var buf []byte
	var audit, bytes int
	for i := range n {
		ts = ts.Add(time.Duration(200+i%1700) * time.Microsecond)
		var ok bool
		buf, ok = g.Line(buf[:0], ts)
		buf = append(buf, '\n')
		if ok {
			audit++
		}
		bytes += len(buf)
		if _, err := bw.Write(buf); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Printf("{\"lines\":%d,\"audit\":%d,\"bytes\":%d}\n", n, audit, bytes)
	return nil
}
