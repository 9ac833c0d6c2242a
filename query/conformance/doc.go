// Package conformance holds only tests: one suite that runs every
// GET /audit-logs parameter combination through the real HTTP API against
// each backend (the embedded SQLite store and Elasticsearch, or the
// Elasticsearch-API test server started by make testserver-start) and
// asserts that both answer byte for byte the same pages, and that these
// match a model of the filters; a paging test over 10,000 events while more
// are added; and the authentication matrix of the real agent, including the
// audit_log/read events it stores for each successful read.
package conformance
