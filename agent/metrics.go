package agent

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/auditship/auditship/agent/config"
	"github.com/auditship/auditship/agent/registry"
)

// Dead-letter reasons, the values of the reason label of
// auditship_events_dead_lettered_total.
const (
	reasonParse    = "parse"    // the decoder rejected the line, or no input claims it
	reasonMapping  = "mapping"  // the mapping block could not build an event
	reasonSchema   = "schema"   // the details do not match the event_name's schema
	reasonOversize = "oversize" // the line is longer than max_line_bytes
	reasonOutput   = "output"   // an output rejected the event for good
)

// metrics are the agent's Prometheus metrics, in a registry of its own so
// that several agents can run in one process (tests).
type metrics struct {
	reg *prometheus.Registry

	linesRead     *prometheus.CounterVec
	linesSkipped  *prometheus.CounterVec
	shipped       *prometheus.CounterVec
	deadLettered  *prometheus.CounterVec
	retries       *prometheus.CounterVec
	items         *prometheus.CounterVec
	queryRefused  *prometheus.CounterVec
	writeDuration *prometheus.HistogramVec
	registryWrite prometheus.Counter
	dlDropped     prometheus.Counter

	// redactedBase is the Redacted count of schema catalogs replaced by
	// reloads, so that the counter never goes down.
	redactedBase atomic.Int64

	mu       sync.Mutex
	inflight map[*batch]time.Time // batches not yet acknowledged → when their first line was read
}

func newMetrics(a *Agent) *metrics {
	m := &metrics{reg: prometheus.NewRegistry(), inflight: map[*batch]time.Time{}}
	f := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
		m.reg.MustRegister(c)
		return c
	}
	m.linesRead = f("auditship_lines_read_total", "Lines read from the files of an input.", "input")
	m.linesSkipped = f("auditship_lines_skipped_total", "Lines that are not audit events (parser or mapping skip).", "input")
	m.shipped = f("auditship_events_shipped_total", "Events durably accepted by an output.", "output")
	m.deadLettered = f("auditship_events_dead_lettered_total", "Lines and events written to the dead-letter file, by reason (parse, mapping, schema, oversize, output).", "reason")
	m.retries = f("auditship_output_write_retries_total", "Output writes that failed in part or whole and were tried again.", "output")
	m.queryRefused = f("auditship_query_refused_total", "Requests to GET /audit-logs refused, by HTTP status: 401 (no or unknown key), 403 (role), 429 (rate limit).", "status")
	m.items = f("auditship_output_items_total", "Events sent to an output, by outcome: done, retry (will be sent again) or rejected (dead-lettered).", "output", "outcome")
	m.writeDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "auditship_output_write_duration_seconds",
		Help:    "Duration of one write of a batch to an output, in seconds.",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 9), // 1ms .. ~65s
	}, []string{"output"})
	m.reg.MustRegister(m.writeDuration)
	m.registryWrite = prometheus.NewCounter(prometheus.CounterOpts{Name: "auditship_registry_writes_total", Help: "Writes of the offset registry file."})
	m.reg.MustRegister(m.registryWrite)
	m.dlDropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "auditship_deadletter_records_dropped_total", Help: "Dead-letter records deleted by rotation: those of the oldest file once dead_letter.max_files are kept."})
	m.reg.MustRegister(m.dlDropped)
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "auditship_secrets_redacted_total",
		Help: "Sensitive detail values censored or replaced by an HMAC before shipping.",
	}, func() float64 {
		var n int64
		if c := a.schemas.Load(); c != nil {
			n = c.Redacted()
		}
		return float64(m.redactedBase.Load() + n)
	}))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "auditship_oldest_unacked_event_age_seconds",
		Help: "Seconds since the oldest line that is in a batch but not yet acknowledged was read; 0 when none is.",
	}, func() float64 { return m.oldestUnacked().Seconds() }))
	m.reg.MustRegister(&inputCollector{a: a})
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) track(b *batch, t time.Time) {
	m.mu.Lock()
	m.inflight[b] = t
	m.mu.Unlock()
}

func (m *metrics) untrack(b *batch) {
	m.mu.Lock()
	delete(m.inflight, b)
	m.mu.Unlock()
}

func (m *metrics) oldestUnacked() time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	var oldest time.Time
	for _, t := range m.inflight {
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	if oldest.IsZero() {
		return 0
	}
	return time.Since(oldest)
}

var (
	lagDesc = prometheus.NewDesc("auditship_input_lag_bytes",
		"Bytes of the files an input matches that are not yet acknowledged: the sum over the files of size minus acknowledged offset.",
		[]string{"input"}, nil)
	openDesc = prometheus.NewDesc("auditship_open_files", "File handles an input holds open.", []string{"input"}, nil)
)

// inputCollector computes the per-input gauges at scrape time.
type inputCollector struct{ a *Agent }

func (c *inputCollector) Describe(ch chan<- *prometheus.Desc) { ch <- lagDesc; ch <- openDesc }

func (c *inputCollector) Collect(ch chan<- prometheus.Metric) {
	cfg := c.a.currentConfig()
	reg := c.a.registry()
	for _, in := range cfg.Inputs {
		if reg != nil {
			ch <- prometheus.MustNewConstMetric(lagDesc, prometheus.GaugeValue, float64(inputLag(in, reg)), in.Name)
		}
		ch <- prometheus.MustNewConstMetric(openDesc, prometheus.GaugeValue, float64(c.a.openFiles(in.Name)), in.Name)
	}
}

// inputLag returns the bytes of the files in matches that are not yet
// acknowledged: for each matched regular file, its size minus the offset the
// registry holds for its identity (its whole size when the registry does not
// know it yet). Files rotated away and no longer matched are not counted.
func inputLag(in config.Input, reg *registry.Registry) int64 {
	var lag int64
	seen := map[[2]uint64]bool{}
	for _, pat := range in.Tailer.Paths {
		matches, _ := doublestar.FilepathGlob(pat)
		for _, p := range matches {
			if excluded(in.Tailer.Exclude, p) {
				continue
			}
			fi, err := os.Stat(p)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			st, ok := fi.Sys().(*syscall.Stat_t)
			if !ok {
				continue
			}
			k := [2]uint64{uint64(st.Dev), st.Ino}
			if seen[k] {
				continue
			}
			seen[k] = true
			var off int64
			if e, ok := reg.Find(k[0], k[1]); ok {
				off = e.Offset
			}
			lag += max(fi.Size()-off, 0)
		}
	}
	return lag
}

func excluded(patterns []string, p string) bool {
	for _, x := range patterns {
		if ok, _ := doublestar.PathMatch(x, p); ok {
			return true
		}
		if ok, _ := doublestar.PathMatch(x, filepath.Base(p)); ok {
			return true
		}
	}
	return false
}
