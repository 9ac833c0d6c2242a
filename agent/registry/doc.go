// Package registry keeps the resume offset of every file an agent reads, so
// that a restart, even after kill -9, continues where the last acknowledged
// line ended.
//
// # Identity
//
// An [Entry] describes one file identity: device and inode plus a
// fingerprint, the hex sha256 of the file's first FingerprintLen bytes (at
// most 1024; fewer while the file is shorter, extended as it grows). The
// fingerprint tells a new file that reused a deleted file's inode from the
// old one, and tells rewritten content from the original.
//
// Each identity has a FileID, the key acks use. The same inode gets a new
// FileID whenever its content is replaced (truncation, copytruncate, inode
// reuse): [Registry.Put] then drops the older entry of that device and inode.
// Acks still in flight for lines read before the truncation carry the old
// FileID and are ignored, so they can never move the new content's offset.
//
// # Offsets
//
// Offset is the End of the last acknowledged line: the pipeline calls
// [Registry.Ack] in file order once the output committed a line's event (or
// the line was skipped or dead-lettered). Offsets never move backwards. Lines
// read but not acknowledged when the process stops are read again on restart:
// delivery is at least once, and event ids derived from the file's origin and
// the line's offset make it exactly once in the index.
//
// # File format
//
// One JSON file, {"version":1,"files":[...]}, written by [Registry.Save] only
// when something changed: a temporary file in the same directory, fsync,
// rename over the old file, fsync of the directory. A crash leaves the old or
// the new registry, never a torn one. Entries of files not seen for longer
// than the TTL are dropped on Save.
//
// All methods are safe for concurrent use: tailers look up and insert entries
// while the pipeline acks and saves.
package registry
