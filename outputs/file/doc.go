// Package file is an output that appends events to a local file as
// newline-delimited JSON (NDJSON): one event per line in the six-field shape
// of GET /audit-logs ([event.Event.MarshalJSON]). It is meant for handing
// events to another tool, for debugging, and, with path = "/dev/null", as a
// null output that measures the cost of the pipeline without a store.
//
// # Configuration
//
//	output "file" "ndjson" {
//	  path  = "events.ndjson" # relative to the agent's data_dir; "/dev/null" discards
//	  fsync = true            # fsync every batch before acknowledging it
//	}
//
// # Durability and duplicates
//
// Every Write appends the whole batch with one write call and, when fsync is
// true and the path is a regular file, fsyncs it before returning, so an
// acknowledged batch survives a crash. A Write that fails truncates the file
// back to where the batch started, so no torn line is left. The file is not
// idempotent on event_id: a batch replayed after a crash (between the write
// and the agent saving its offsets) appears twice; consumers that need
// exactly-once must deduplicate on event_id.
//
// # Concurrency
//
// Write and Close are called by one goroutine at a time (the [outputs.Output]
// contract). The file output is not a searcher: GET /audit-logs cannot read
// from it.
package file
