// Package json decodes JSON lines: one JSON object per line (RFC 8259), as
// written by Vault, Teleport, GitLab and the Kubernetes API server audit logs.
//
// Configured by a `parser "json" { ... }` block; see [Config].
//
// Rules:
//   - The top-level value must be an object; an array, string, number or
//     literal on its own is an error, as is anything after the object.
//   - Numbers are [encoding/json.Number] holding the text as written, so
//     9007199254740993 (2^53+1) and 2882429806056571124 are kept exactly.
//   - Duplicate keys: the last one wins, at every level (as encoding/json).
//   - Dotted keys (expand_dotted_keys, default true): a dotted key of the
//     top-level object, such as "user.name", is moved to the nested path it
//     names (record.user.name), creating objects or merging into an existing
//     one (`{"user.name":"x","user":{"id":1}}` becomes
//     `{"user":{"id":1,"name":"x"}}`). Expansion never overwrites: when a
//     non-object sits on a prefix (`{"user":"bob","user.name":"x"}`) or the
//     leaf already exists, the dotted key stays as written next to the nested
//     value, which wins for path access. Keys with an empty segment ("a..b",
//     ".a", "a.") stay as written. Dotted keys are applied in byte order, so
//     the result never depends on key order in the line. Keys inside nested
//     objects are never expanded: there they are usually data (Kubernetes
//     annotation names such as "authorization.k8s.io/decision").
//   - Strings must be valid UTF-8 with control characters escaped: JSON
//     cannot hold other bytes, and the decoder does not silently replace them
//     (encoding/json would write U+FFFD), so such a line is an error and is
//     dead-lettered unchanged. A lone surrogate escape (\ud800) becomes
//     U+FFFD, as in encoding/json.
//   - A leading UTF-8 byte order mark and a trailing "\r" are ignored.
//
// Errors: a blank or whitespace-only line returns an error wrapping
// [parsers.ErrSkip]. Any other bad line returns an error such as
// `invalid JSON at byte 17: unexpected '}' after object key, want ':'`, with
// the offset counted in bytes from 0; it becomes the dead-letter reason.
//
// What is built: [Decoder.Decode] builds the whole record;
// [Decoder.Project] only the top-level keys a mapping reads; and
// [Decoder.DecodePaths] ([parsers.PathDecoder]) only the values at the
// paths a mapping reads (record.audit.details, record.msg), with no map for
// the objects on the way to them: the agent's route when the mapping reads
// nothing but plain paths. All three check the whole line and fail with the
// same errors. A line whose dotted top-level key would expand onto one of
// the paths is handed back to be decoded whole (FuzzDecodePaths checks the
// values against Decode's record).
//
// The decoder is a hand-written recursive-descent parser (no reflection),
// 1.5 to 2.5 times as fast as encoding/json with UseNumber on real audit
// lines, with fewer allocations (BenchmarkDecode, BenchmarkDecode_EncodingJSON); FuzzDecode checks it against encoding/json.
package json
