// Package parsers turns raw log lines into records and records into audit
// events.
//
// A [Decoder] reads one line of a log format (json, logfmt, regex, syslog) into
// a [Record]. The mapping subpackage selects the audit records and maps them to
// [event.Event] with HCL expressions; the schema subpackage checks
// event_details against the schema declared for its event_name and censors
// secrets.
package parsers
