// Command follow measures write-to-queryable latency of a running agent that
// stores into the embedded store. It appends generated platform lines to a
// file at a fixed rate, each stamped with the time it is written, and polls
// the agent's SQLite database through the store's own read path
// (outputs/sqlite Search, oldest first, keyset after the last seen event);
// an event's latency is when it was first returned minus its event_time.
//
//	follow -out app.log -db data/audit.db -rate 5000 -duration 60s
//
// It prints one JSON line: lines and audit lines written, events seen, and
// latency p50, p99 and max in milliseconds.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/auditship/auditship/bench/internal/loggen"
	"github.com/auditship/auditship/outputs"
	"github.com/auditship/auditship/outputs/sqlite"
)

type result struct {
	Lines   int     `json:"lines"`
	Audit   int     `json:"audit"`
	Seen    int     `json:"seen"`
	P50ms   float64 `json:"p50_ms"`
	P99ms   float64 `json:"p99_ms"`
	MaxMs   float64 `json:"max_ms"`
	RatePer float64 `json:"rate_lines_per_s"`
}

func main() {
	out := flag.String("out", "", "log file to append to (required)")
	db := flag.String("db", "", "the agent's SQLite database (required)")
	rate := flag.Int("rate", 5000, "lines per second")
	dur := flag.Duration("duration", 60*time.Second, "how long to write")
	grace := flag.Duration("grace", 30*time.Second, "how long to wait for the last events after writing")
	seed := flag.Uint64("seed", 2, "random seed")
	flag.Parse()
	if *out == "" || *db == "" {
		fmt.Fprintln(os.Stderr, "follow: -out and -db are required")
		os.Exit(2)
	}
	r, err := run(*out, *db, *rate, *dur, *grace, *seed)
	if err != nil {
		fmt.Fprintln(os.Stderr, "follow:", err)
		os.Exit(1)
	}
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
}

func run(out, db string, rate int, dur, grace time.Duration, seed uint64) (*result, error) {
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	g := loggen.New(seed)
	r := &result{}
	written := make(chan int, 1)
	go func() {
		bw := bufio.NewWriterSize(f, 1<<20)
		const tick = 10 * time.Millisecond
		per := float64(rate) * tick.Seconds()
		start := time.Now()
		var buf []byte
		audit, n := 0, 0
		for time.Since(start) < dur {
			due := int(float64(time.Since(start)+tick) / float64(tick) * per)
			for ; n < due; n++ {
				var ok bool
				buf, ok = g.Line(buf[:0], time.Now())
				buf = append(buf, '\n')
				if ok {
					audit++
				}
				_, _ = bw.Write(buf)
			}
			_ = bw.Flush()
			time.Sleep(time.Until(start.Add(time.Duration(n/int(per)) * tick)))
		}
		r.Lines = n
		r.RatePer = float64(n) / time.Since(start).Seconds()
		written <- audit
	}()

	ctx := context.Background()
	st, err := sqlite.New(sqlite.Config{Path: db, BusyTimeout: "5s"}, "", nil)
	if err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if err := st.OpenReadOnly(ctx); err == nil {
			break
		} else if time.Now().After(deadline) {
			return nil, fmt.Errorf("open %q: %w", db, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	defer st.Close(ctx)
	var lat []time.Duration
	var after *outputs.Cursor
	total := -1
	var stopAt time.Time
	for {
		evs, err := st.Search(ctx, outputs.Query{Limit: 10000, Order: outputs.Asc, After: after})
		now := time.Now()
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			lat = append(lat, now.Sub(e.Time))
		}
		if len(evs) > 0 {
			last := evs[len(evs)-1]
			after = &outputs.Cursor{Time: last.Time, ID: last.ID}
		}
		if total < 0 {
			select {
			case total = <-written:
				r.Audit = total
				stopAt = time.Now().Add(grace)
			default:
			}
		}
		if total >= 0 && (len(lat) >= total || time.Now().After(stopAt)) {
			break
		}
		if len(evs) < 10000 {
			time.Sleep(20 * time.Millisecond)
		}
	}
	r.Seen = len(lat)
	if len(lat) > 0 {
		slices.Sort(lat)
		q := func(p float64) float64 {
			return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
		}
		r.P50ms, r.P99ms, r.MaxMs = q(0.50), q(0.99), float64(lat[len(lat)-1].Microseconds())/1000
	}
	return r, nil
}
