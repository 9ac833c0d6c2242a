// Package syslog decodes syslog lines in the RFC 5424 or RFC 3164 (BSD)
// format with github.com/leodido/go-syslog/v4, optionally parsing the
// message part as JSON or logfmt.
//
// Configured by a `parser "syslog" { ... }` block; see [Config]. With rfc =
// "auto" (default), a line starting with "<PRI>1 " or "1 " is RFC 5424,
// anything else RFC 3164. The PRI part is optional in both, as files written
// by syslog daemons usually omit it. RFC 5424 is parsed strictly; RFC 3164
// also accepts an RFC 3339 timestamp in place of "Mmm dd hh:mm:ss".
//
// The record has these fields, each absent when the line does not carry it:
//
//	priority, facility, severity  json.Number
//	timestamp        string, RFC 3339 in UTC with the digits given ("2026-03-01T08:00:00.123Z")
//	hostname, app_name, proc_id, msg_id  string ("-" in RFC 5424 means absent)
//	structured_data  map from SD-ID to a map from parameter name to string value
//	message          string, the MSG part as written (a leading UTF-8 BOM removed)
//	msg              record parsed from message (message_format "json" or "logfmt")
//
// With message_format "json" or "logfmt", the message is parsed after an
// optional CEE "@cee:" prefix with the json or logfmt parser's default
// settings (dotted keys expanded). When it does not parse, msg is absent and
// the record is still returned: syslog streams mix many programs.
//
// RFC 3164 timestamps have no year and no zone. They are read in the
// configured timezone (default "UTC") and given the current year in that
// zone, or the previous year when that would put them more than 7 days in
// the future (a December line read in January).
//
// Errors: a blank line returns an error wrapping [parsers.ErrSkip]; a line
// the grammar rejects returns an error such as "invalid syslog (RFC 5424):
// expecting a version value in the range 1-999 [col 4]".
package syslog
