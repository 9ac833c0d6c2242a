// Package mapping selects the audit records of an input and maps each to an
// [event.Event] with HCL expressions that ops write in agent.hcl:
//
//	input "file" "platform" {
//	  paths  = ["/var/log/platform/*.log"]
//	  parser = "jsonl"
//	  mapping {
//	    when          = record.msg == "audit"
//	    event_id      = record.audit.event_id
//	    event_time    = record.ts
//	    event_name    = record.audit.resource
//	    event_type    = lower(record.audit.action)
//	    event_details = record.audit.details
//	    user_uid      = record.audit.user_uid
//	    time_format   = "auto"
//	    timezone      = "UTC"
//	  }
//	}
//
// The config loader decodes the block into a [Block] with gohcl; [Compile]
// checks it and returns a [Mapping], whose [Mapping.Map] turns one decoded
// line into an event.
//
// # Attributes
//
//   - when (optional): a bool. false or null skips the line (the error wraps
//     [parsers.ErrSkip]); any other value is an error. Absent: every record
//     is an audit event.
//   - event_id (optional): an integer, or a string holding one, > 0. Null or
//     absent: derived from the line with [event.DeriveID], so the same line at
//     the same position always gets the same id.
//   - event_time (required): see Time below.
//   - event_name, event_type (required): non-empty strings.
//   - event_details (optional): an object; null or absent gives {}. Values
//     keep the record's Go form (json.Number for numbers).
//   - user_uid (required): an integer, or a string holding one, within int64.
//     Integers are read from their decimal text, never through float64, so
//     2882429806056571124 stays exact; 1e3 and 5.0 are whole and accepted.
//   - time_format (literal string, default "auto") and timezone (literal IANA
//     zone name, default none): see Time below.
//
// An error of Map names the attribute: "event_time: record.ts is missing",
// "user_uid: \"abc\" is not an integer", "event_name: must be a non-empty
// string". Such a line is dead-lettered with that text.
//
// # Expressions and variables
//
// Expressions are HCL native syntax: literals, operators (== != && || ! + -
// * / % < >), conditionals (c ? a : b), templates ("${record.a}-x"), for
// expressions, indexing and splats. They can read three variables:
//
//   - record: the decoded line, an object of strings, numbers, bools, nulls,
//     lists and objects. Keys that are not identifiers are indexed:
//     record["a.b"]; list elements by number: record.items[0].
//   - input: the name of the input block (string).
//   - path: the path of the file the line was read from (string).
//
// Any other variable, and any function not in the list below, is reported by
// Compile. Expressions without variables are evaluated once by Compile.
//
// A plain path (a variable followed by attributes and constant indexes:
// record.audit.user_uid, record["a.b"], record.items[0]) is walked on the
// record's Go values directly: no conversion, no allocation. A missing key,
// an index out of range or a step into a string gives null. Every other
// expression is general: the record is converted to an HCL value once per
// line, on first use, and shared by the line's general expressions. The
// conditions `when` is usually made of are not general either: a plain path
// compared with a string, bool or null literal (== or !=), and !, && and ||
// over such comparisons, are evaluated on the Go values as well, about 300
// times faster than through HCL; they follow the plain-path rule, so
// record.audit.kind == "x" is false, not an error, on a line without audit.
// Numbers
// convert exactly (arbitrary precision); whole results come back as
// json.Number of their integer text, others as their shortest decimal text.
// In a general expression, an attribute the expression reads that is absent
// from the record is null (record.msg == "audit" is false for a line without
// msg), but reading further through a null or a missing object is an error,
// as is a list index out of range: guard them with try(), can() or lookup().
// Two more differences of the general path: strings come out in Unicode
// normal form C (cty normalises them), and numbers whose decimal exponent
// exceeds ±1000 make the line an error (their exact rendering would take
// minutes).
//
// # Functions
//
// From cty's function/stdlib, as in Terraform: can, coalesce, contains,
// format, join, jsondecode, jsonencode, keys, lookup, lower, merge, regex,
// regex_replace (also spelled regexreplace), replace, split, substr, tobool,
// tonumber, tostring, trimspace, try, upper; and length, which counts the
// elements of a list, map or object, or the characters of a string.
// [FunctionNames] returns the list.
//
// # Time
//
// event_time is read by [ParseTime] with time_format:
//
//   - "auto" (default): RFC 3339 with any fraction down to nanoseconds and
//     any offset ("2021-08-17T20:51:47.268843Z", "...+02:00"); the naive ISO
//     forms "2021-08-17T20:51:47.268843" and "2024-07-12 13:33:01" (fraction
//     optional), read in timezone; numbers and numeric strings as epoch
//     times whose unit is guessed from the absolute value of the integer
//     part: below 1e11 seconds (that is, up to the year 5138), below 1e14
//     milliseconds, below 1e17 microseconds, else nanoseconds.
//   - "rfc3339": RFC 3339 only.
//   - "epoch_s", "epoch_ms", "epoch_us", "epoch_ns": numbers or numeric
//     strings in that unit.
//   - any other string containing "2006": a Go time layout
//     ("2006-01-02 15:04:05", "02/Jan/2006:15:04:05 -0700").
//
// Epoch fractions are read from the decimal text ("1700000000.123456"),
// exact to the nanosecond; further digits are truncated. Times are converted
// to UTC and must fall in the years 1 to 9999.
//
// timezone (an IANA name such as "UTC" or "America/New_York", daylight
// saving time included) is the zone of values written without one. A Go
// layout without a zone element requires it (Compile reports "timezone is
// required when time_format has no zone"); with "auto" and no timezone, a
// naive value dead-letters its line with "event_time: \"2024-07-12
// 13:33:01\" has no zone; set timezone in the mapping". Values with a zone
// keep their own offset.
//
// Zone names are looked up with time.LoadLocation: the host's zoneinfo, or
// the copy embedded by importing time/tzdata in the binary.
package mapping
