// Package tailer reads log files line by line, follows them through rotation
// and truncation, and resumes from the offsets in a [registry.Registry].
//
// A [Tailer] serves one input: it expands the input's globs (`**` allowed,
// symlinks followed, Exclude dropped), opens every matched file and sends
// its complete lines, in file order, on a channel. A full channel pauses
// reading: that is the backpressure, and memory stays bounded by
// MaxLineBytes per open file plus one 64 KiB read buffer.
//
// # Lines
//
// A line is emitted once its newline arrived (or, with FlushPartialAfter, when
// the file was idle that long). CRLF counts as LF; a leading UTF-8 BOM and
// leading NUL bytes are removed; blank, whitespace-only and NUL-only lines
// are not emitted, and the next emitted line's End covers them. Invalid UTF-8
// passes unaltered. A line longer than MaxLineBytes is emitted once, marked
// Oversize, with its first MaxLineBytes bytes; the rest is skipped without
// being buffered.
//
// # Identity
//
// A file is its device and inode plus the fingerprint of its first bytes (see
// package registry). Two paths of one inode (a symlink and its target, or a
// hard link) are read once. A file seen for the first time gets a registry
// entry at offset 0 (or at its size when StartAt is "end" and it was found
// by the first scan); a known file resumes at its acknowledged offset. A
// registry entry whose fingerprint no longer matches, or whose offset is past
// the file's size, means the content was replaced while the agent was
// stopped: the file is read from 0 under a new FileID.
//
// # Position and origin
//
// Every line carries its Offset and End and the file's Origin, the hash of
// its first line ([event.OriginOf]). The origin is stored in the registry and
// is the same after a restart, after a rename and for a copy of the file, so
// that [event.DeriveID] gives a re-read line the event id it had before.
//
// # Rotation
//
// Discovery is a periodic scan (ScanInterval) of the globs plus fsnotify
// events on the parent directories, which only make a scan or read happen
// sooner. A file is followed by inode, not by name:
//
//   - Rename (logrotate create): the open handle keeps reading the renamed
//     file to its end, late writes by a writer that has not reopened yet
//     included, until it was idle for CloseInactive or is deleted. The new
//     file at the old name is a new identity, read from 0. A rename to a name
//     that still matches the globs only updates the path; nothing is read
//     twice, also not after a restart.
//   - Symlink retarget: the old target is treated like a renamed file, the
//     new target like a new one.
//   - Truncation (copytruncate, or "> file"): when the size drops below the
//     read offset, or the first bytes no longer match the fingerprint, or the
//     32 bytes before the read offset are no longer those read there (a
//     truncation followed by a rewrite to the same or a larger size), the
//     file gets a new FileID and is read from 0. While the fingerprint covers
//     fewer than FingerprintBytes bytes, it grows with every read that passes
//     it, so it always covers what was read. At start, a registry offset
//     whose preceding bytes no longer hash to what the registry recorded as
//     the line ending there was read means the same: the content was
//     replaced while the agent was stopped.
//   - Deletion: an open file is read to its end, then closed and its entry
//     removed. A file deleted and recreated is a new identity.
//   - Rotation of a file that is not open (while the agent was stopped, or
//     after CloseInactive closed it): at start and at every scan, each
//     registry entry whose recorded path matches the input's globs, whose
//     file is not open and whose path now holds another file or nothing is
//     looked for by device and inode in the directory of that path (one
//     ReadDir; names starting with the old base name are stat'ed first).
//     When found with the same fingerprint and bytes beyond the entry's
//     offset, it is read under the same FileID like a renamed file, even if
//     Exclude matches its new name, and "rotated file found" is logged. An
//     entry is searched once per change of what its path holds, so a
//     drained or vanished file costs no further ReadDir.
//
// Open handles are bounded by MaxOpenFiles, lowered to RLIMIT_NOFILE less 64
// (and further when an open fails with EMFILE). While files wait for a
// handle, the handles of files read to their end are released, longest idle
// first. A handle idle for CloseInactive is closed too; a file still matched
// is reopened when its size or mtime changes.
//
// # Known limits
//
// copytruncate races: logrotate copies the file, then truncates it. Lines
// the application writes after the copy finished and before the truncation
// are in neither file: the copy does not have them and the truncation
// removes them from the original. If the tailer had not read them before the
// truncation, they are lost; no reader can prevent this, only rename
// rotation can. Likewise, a line appended and truncated away between two
// reads is lost, and a truncation followed by a rewrite whose first bytes
// are identical to the old ones is not noticed when it happens while the
// tailer is in the middle of reading (not at the end), when the 32 bytes
// before the offset are identical too, or, while the agent is stopped, when
// its acknowledged offset is not the end of the last line it had read (a
// kill -9 before delivery caught up, a flushed partial line, start_at "end"
// in the middle of a line): the registry then holds no hash for it. A rotated-away file
// is searched for only in the directory of its last matched path, so a
// rotation that moves it to another directory loses its unread lines; and a
// rotated-away file that was read to its end and closed is not looked at
// again until its old path changes once more, so writes to it after that
// wait for the next rotation.
package tailer
