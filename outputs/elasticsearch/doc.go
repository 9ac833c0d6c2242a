// Package elasticsearch ships audit events to Elasticsearch (or a server
// that speaks its REST API) with the bulk API, and reads them back for
// GET /audit-logs.
//
// # Index layout
//
// Events go to one index per UTC month of event_time,
// "<index_prefix>-YYYY.MM" ("audit-logs-2026.11"), created from the index
// template named index_prefix (pattern "<index_prefix>-*", priority 100),
// and every such index is put behind the read alias (alias, default
// index_prefix). Searches read the alias, so old months can be deleted or
// moved without touching auditship. [Output.Open] and [Setup] install the
// template when absent; an existing template is checked, not overwritten
// (an operator may have tuned shards or ILM), and is refused when the
// fields below are mapped otherwise, as are indexes already behind the
// alias.
//
// # Documents and mapping
//
//	event_id       long     the event_id; also the _id, in decimal
//	event_time     date     "2006-01-02T15:04:05.000000Z", UTC, microseconds (Kibana's time field)
//	event_time_us  long     microseconds since the epoch: exact sort and range key
//	event_name     keyword
//	event_type     keyword
//	user_uid       long
//	event_details  keyword  the details' exact JSON text; index false, doc_values false
//	details        object   details.<event_name>.*: a searchable copy, dynamic
//
// A date field keeps milliseconds, so sorting, range filters and the keyset
// cursor use event_time_us; event_time (with the nanoseconds beyond the
// microsecond dropped) is for people and Kibana. event_details is stored as
// JSON text, not an object: the text round-trips exactly (integers beyond
// 2^53, decimals as written) on every server, and no field type of one event
// kind can clash with another's. The searchable copy lives under
// details.<event_name> (characters other than letters, digits, '_' and '-'
// become '_'), so "api_key".id and "user".id are different fields; within
// one kind the schema keeps types stable. The template turns off date and
// numeric detection and sets index.mapping.ignore_malformed, so a details
// value that does not fit its field is left unindexed rather than rejecting
// the event.
//
// # Writing
//
// [Output.Write] makes one attempt: retries with backoff are the caller's.
// A batch is split into concurrency bulk requests of about equal size (of
// at least 100 events each), and into more when a part would exceed
// flush_events actions or flush_bytes bytes; at most concurrency are in
// flight, so that the server works on several at once. The output is
// [outputs.Concurrent] with two batches: the agent writes the next batch
// while the previous one is still being answered, so the server never
// waits for the agent between batches (offsets are still acknowledged in
// batch order). Requests ask for
// filter_path=errors,error,items.*.status,items.*.error: Elasticsearch then
// answers only what the classification reads. Each event is a create
// action with _id = event_id (already stable per source line), so a
// re-sent event is never stored twice. Items are classified:
//
//	item status          outcome
//	200, 201             accepted
//	409                  read back (see below): the same event is accepted; another one, not retryable
//	429, 5xx             failed, retryable
//	other 4xx            failed, not retryable; Reason "HTTP 400: type: reason (caused by …)"
//	request 429/5xx/4xx  no item counts; the items of that request are retryable
//	request 413          sent again in halves, see below
//	transport, timeout   as above
//
// A request answered 413 Request Entity Too Large (its body is over
// Elasticsearch's http.max_content_length, 100mb by default, or the body
// limit of a proxy in front of it, such as nginx's client_max_body_size) is
// sent again in parts of at most half its size, cut anew by the lowered
// limit after each part refused again, until each part is accepted; from
// then on the output sends requests of at most half the smallest refused size,
// and warns once per lowering that flush_bytes should be set below that
// limit. An event that is refused even alone is failed, not retryable, with
// the reason "HTTP 413: ... (the event alone is a N-byte request)": the agent
// dead-letters it instead of retrying its batch for ever.
//
// A 409 says a document with the event's _id is stored already: usually
// this event, re-sent after a crash or a retry, but it may be another event
// under a reused event_id. Write reads the stored documents back with one
// ids search per 1,000 such items and fails those whose content differs,
// not retryable, with both events named (as the embedded store does, see
// [outputs.ReusedID]); the agent dead-letters them. The search is near
// real-time: a document not found yet (created less than a refresh interval
// ago) counts as stored. Indexes are monthly, so the same event_id with
// event times in two months is two documents.
//
// When no request of the batch got a usable answer, Write returns a plain
// error (the whole batch is retried); otherwise a *[outputs.BatchError]
// lists the failed items (items of failed requests as retryable). A 2xx
// answer whose items cannot be matched to the request is a failed request.
//
// # Reading
//
// [Output.Search] sends a bool filter (terms on event_name, event_type,
// user_uid; range on event_time_us), sorts on [event_time_us, event_id] and
// pages by keyset: after (t, id) in descending order is the filter
// "event_time_us < t OR (event_time_us = t AND event_id < id)". It never
// uses search_after, from, scroll or point-in-time.
//
// # ZincSearch, the test server
//
// The integration tests run against ZincSearch v0.4.10 (see
// scripts/testserver) unless ELASTICSEARCH_URL names a real cluster. It
// differs from Elasticsearch, and this package keeps to what both do:
//   - It stores every number as float64 and re-encodes _source, so integers
//     beyond 2^53 come back rounded: hence event_details as JSON text and
//     event_id read from _id. user_uid above 2^53 would come back rounded
//     there (not on Elasticsearch); sorting on event_id compares float64.
//   - It ignores a template's aliases, _meta (rejected) and "enabled": false;
//     so Write creates each month's index and adds it to the alias itself
//     (once per index per process; a no-op on Elasticsearch).
//   - It detects dates in dynamic string fields and cannot be told not to:
//     a details field holding a date-like string and later another string
//     makes it fail the whole bulk request (with "errors": false and a
//     top-level "error"), as do its other type conflicts. Write then splits
//     the request in halves until the failing events stand alone and sends
//     each once more without its searchable copy (details.<event_name>):
//     the event is stored whole in event_details, only not searchable by
//     its details, and a warning names its event_id. So one such event
//     never blocks a batch.
//   - It answers a missing index with 400, not 404; GET / needs no
//     credentials there, so a refused password shows up on the first
//     authenticated request of Open (the message is the same).
//   - It never answers 409 on create (it overwrites); the 409 branch is
//     tested through the fault-injecting proxy of internal/testes.
//   - It acknowledges bulk requests before indexing them (about 2,000
//     documents/s), so tests poll Search with a deadline.
package elasticsearch
