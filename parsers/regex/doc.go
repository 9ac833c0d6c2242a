// Package regex decodes lines with a regular expression: each named capture
// group of the pattern becomes a string field of the record.
//
// Configured by a `parser "regex" { pattern = "..." }` block; see [Config].
// The pattern uses RE2 syntax (Go's regexp package: linear time, no
// backreferences), for example
//
//	pattern = "^type=(?P<type>\\S+) msg=audit\\((?P<epoch>[0-9.]+):(?P<serial>\\d+)\\): (?P<body>.*)$"
//
// Rules:
//   - Only named groups become fields; unnamed groups are ignored. A named
//     group that did not take part in the match is absent; one that matched
//     the empty string is "". When names repeat, the last group that took
//     part wins. Values are the matched bytes unchanged (invalid UTF-8 kept).
//   - The match is unanchored unless the pattern uses ^ and $. A trailing
//     "\r" is removed first.
//
// Errors: a line that does not match is not an audit line, so it returns an
// error wrapping [parsers.ErrSkip] (acknowledged, dropped, never
// dead-lettered), as does a blank line. There is no other decode error.
package regex
