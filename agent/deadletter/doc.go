// Package deadletter writes and reads the dead-letter file: NDJSON, one object
// per line that could not become a stored audit event, with the reason.
//
// Each record is
//
//	{"time":"2026-11-30T05:03:01.123456Z","input":"platform","path":"/var/log/app/api.log",
//	 "offset":1234,"reason":"event_time: record.ts is missing","line":"{...}"}
//
// time is when the line was rejected (RFC 3339, UTC); offset is the byte
// offset of the line's first byte in path; line is the raw line as text, or
// line_base64 (standard base64) instead when the line is not valid UTF-8.
// The file is rotated when it grows past MaxBytes: deadletter.ndjson becomes
// deadletter.ndjson.1, .1 becomes .2, and so on up to MaxFiles.
package deadletter
