package sqlite

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/auditship/auditship/event"
)

// realisticEvents fills evs like the benchmark generator's audit lines
// (bench/gen): 14 event names, 9 types, 8 users, times 1.4 ms apart, details
// of about 90 bytes; about 28% carry the platform's own sequential id, the
// rest a derived 63-bit hash ([event.DeriveID]). seq and offset continue
// from the previous call.
func realisticEvents(r *rand.Rand, evs []event.Event, seq, offset *int64, t *time.Time) {
	names := []string{"annotation", "batch", "training_set", "user_role", "application", "workspace", "dataset",
		"model", "api_key", "user", "project", "label", "export", "pipeline"}
	types := []string{"create", "delete", "update", "remove", "assign", "login", "logout", "share", "rename"}
	for i := range evs {
		*t = t.Add(1400 * time.Microsecond)
		*offset += 480
		id := int64(r.Uint64() & (1<<63 - 1))
		if r.IntN(100) < 28 {
			*seq++
			id = *seq
		}
		evs[i] = event.Event{
			ID:   id,
			Time: *t,
			Name: names[r.IntN(len(names))],
			Type: types[r.IntN(len(types))],
			Details: map[string]any{
				"application_uid":  json.Number(strconv.Itoa(r.IntN(1000))),
				"application_name": "ticket-router",
				"workspace_uid":    json.Number(strconv.Itoa(r.IntN(50))),
				"template_id":      "document_extraction",
			},
			UserUID: int64(r.IntN(8)),
			Source:  event.Position{Input: "platform", Path: "/var/log/platform/platform.log", Offset: *offset},
		}
	}
}

// BenchmarkStore_WriteRealistic writes batches of 1000 realistic events (as
// the agent's default batch_events) into one growing store; -benchtime 700x
// is the 1M-line benchmark's 700k audit events. Besides ns/op (per batch) it
// reports the process's CPU time (user+sys) per event, which is what the
// issue 8 targets count; fsync waits are not CPU.
func BenchmarkStore_WriteRealistic(b *testing.B) {
	s := openStore(b, b.TempDir())
	r := rand.New(rand.NewPCG(1, 2))
	evs := make([]event.Event, 1000)
	seq, offset, t := int64(900000), int64(0), time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		realisticEvents(r, evs, &seq, &offset, &t)
		b.StartTimer()
		c := cpuTime(b)
		if err := s.Write(context.Background(), evs); err != nil {
			b.Fatal(err)
		}
		cpu += cpuTime(b) - c
	}
	n := float64(b.N * len(evs))
	b.ReportMetric(float64(cpu)/n, "cpu-ns/event")
	b.ReportMetric(b.Elapsed().Seconds()*1e9/n, "ns/event")
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "maxrss-MiB")
	}
}

// cpuTime returns the process's user+sys CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
