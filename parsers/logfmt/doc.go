// Package logfmt decodes logfmt lines (`level=info msg="user created"
// user.id=4`), as written by logrus, Grafana, go-kit and many Go services.
// Tokenising is done by github.com/go-logfmt/logfmt.
//
// Configured by a `parser "logfmt" { ... }` block; see [Config].
//
// Rules:
//   - Values are strings. Quoted values may hold spaces, `=` and escapes
//     (`msg="say \"hi\""` is `say "hi"`). `key=` and `key=""` are "". A bare
//     key without `=` (`debug`) is the boolean true.
//   - Duplicate keys: the last one wins.
//   - Dotted keys (expand_dotted_keys, default true) are expanded into nested
//     maps with the json parser's rule: `user.id=4 user.name=bob` becomes
//     {"user":{"id":"4","name":"bob"}}; a dotted key that would overwrite a
//     value (`user=bob user.id=4`) stays as written.
//   - ANSI escapes (strip_ansi, default true): CSI sequences such as the
//     colour codes "\x1b[31m" ... "\x1b[0m" of terminal loggers are removed
//     before parsing, anywhere in the line (keys, values, between pairs).
//     With strip_ansi = false, ESC ends a key and the rest is parsed as is.
//   - Bytes are kept as they are: invalid UTF-8 in a value is kept unchanged
//     (a JSON encoder later writes U+FFFD); invalid UTF-8 in a key is an
//     error. A trailing "\r" is ignored.
//   - auditd lines (`type=SYSCALL msg=audit(1364481363.243:24287): arch=...`)
//     are logfmt-like: `msg=audit(1364481363.243:24287):` becomes the string
//     field msg = "audit(1364481363.243:24287):" (use the regex parser to
//     split time and serial), hex-encoded values stay hex, and old free-text
//     words (`avc:  denied  { read }`) become bare keys set to true. Lines
//     with a single-quoted payload (`msg='op=login res=success'`) or a stray
//     `"` are not logfmt and return an error.
//
// Errors: a blank line, or one that is only whitespace and ANSI escapes,
// returns an error wrapping [parsers.ErrSkip]. A malformed line returns an
// error such as `invalid logfmt at byte 9: unexpected '='` (offset in bytes
// from 0, counted after ANSI stripping); it becomes the dead-letter reason.
package logfmt
