// Package agent runs the auditship pipeline: it tails the configured files,
// turns audit lines into events, ships them to the outputs and serves the
// query API.
//
//	files ──tailer──▶ lines (bounded) ──process──▶ batches (bounded) ──deliver──▶ outputs
//	  ▲                                   │ decode, map,                 │ retry with
//	  │                                   │ schema, censor               │ backoff
//	  │                                   ▼                              ▼
//	  │                              dead-letter file ◀── rejected ── items
//	  └──────────── registry ◀── ack, in order, after every output accepted
//	                                (or the line was skipped / dead-lettered)
//
// Delivery is at-least-once: the registry offset of a file moves past a line
// only after the event of that line is durably stored by every output, or the
// line was skipped as not an audit line, or it was written and synced to the
// dead-letter file. Event ids are derived deterministically from the source
// line (event.DeriveID) and outputs store idempotently on event_id, so a line
// read twice after a crash is stored once: the index holds each event exactly
// once.
//
// Backpressure: both queues are bounded: the line queue by
// pipeline.max_inflight_events lines and max_inflight_bytes (lines are
// handed over in chunks; see config.Queue), the batch queue to one batch
// waiting for the outputs. When the outputs are slow or down, the tailers
// block on the full queue and stop reading, and memory stays bounded.
//
// Shutdown: when Run's context ends, the tailers stop reading, queued lines
// are processed and delivered within shutdown_timeout, and the registry is
// saved. What could not be delivered in time is not acknowledged and is read
// again at the next start.
//
// Reload: the line queue, the tailers, the registry and the dead-letter file
// live as long as Run; the delivery side (outputs, query API, the process and
// deliver stages) is a generation that [Agent.Reload] replaces when an output,
// the pipeline, schemas or query block changed: the old generation stops
// taking lines (they stay queued), delivers its batches within
// shutdown_timeout and hands what it could not deliver to the next one, so
// acknowledgements stay in file order and nothing is dropped. Tailers of
// unchanged inputs keep running across a reload.
//
// Operations: the http listener (http.go) serves /metrics from a registry of
// the agent's own (metrics.go; no global state, several agents can share a
// process), /healthz and /readyz.
package agent
