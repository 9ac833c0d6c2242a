// Command profile runs the agent in-process exactly as `auditship agent
// --once` does (agent/config.Load, agent.New, Run with Options.Once) and
// writes a CPU profile of the run, for `go tool pprof -top`:
//
//	profile -config c.hcl -cpuprofile cpu.prof
//	profile -config c.hcl -heapprofile heap.prof -heapafter 5s  # in use, mid-run
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/pprof"
	"time"

	"github.com/auditship/auditship/agent"
	"github.com/auditship/auditship/agent/config"
)

func main() {
	cfgPath := flag.String("config", "agent.hcl", "agent configuration")
	prof := flag.String("cpuprofile", "cpu.prof", "CPU profile to write")
	memprof := flag.String("memprofile", "", "heap (alloc) profile to write at the end")
	heapprof := flag.String("heapprofile", "", "in-use heap profile to write after -heapafter")
	heapAfter := flag.Duration("heapafter", 5*time.Second, "when to write -heapprofile")
	memRate := flag.Int("memrate", 0, "runtime.MemProfileRate (bytes per sample; 0: the default 512 KiB)")
	flag.Parse()
	agent.TuneGC() // as the auditship binary does
	if *memRate > 0 {
		runtime.MemProfileRate = *memRate
	}
	if *heapprof != "" {
		time.AfterFunc(*heapAfter, func() {
			if f, err := os.Create(*heapprof); err == nil {
				runtime.GC()
				_ = pprof.Lookup("heap").WriteTo(f, 0)
				_ = f.Close()
			}
		})
	}
	if err := run(*cfgPath, *prof, *memprof); err != nil {
		fmt.Fprintln(os.Stderr, "profile:", err)
		os.Exit(1)
	}
}

func run(cfgPath, prof, memprof string) error {
	cfg, _, diags := config.Load(cfgPath)
	if diags.HasErrors() {
		return diags
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := agent.New(cfg, log, agent.Options{Once: true})
	if err != nil {
		return err
	}
	f, err := os.Create(prof)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	start := time.Now()
	err = a.Run(context.Background())
	pprof.StopCPUProfile()
	fmt.Fprintf(os.Stderr, "profile: run took %s\n", time.Since(start))
	if memprof != "" {
		mf, merr := os.Create(memprof)
		if merr == nil {
			_ = pprof.Lookup("allocs").WriteTo(mf, 0)
			_ = mf.Close()
		}
	}
	return err
}
