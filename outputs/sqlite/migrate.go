package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/auditship/auditship/event"
)

// migrateV4 moves a version 3 database to version 4 in tx: the rows of
// events are copied into blocks in seq order (the order they were stored
// in), their ids into one run of id_chunks, then the version 3 tables are
// dropped. It holds every (event_id, location) pair in memory, 16 bytes
// per event.
func migrateV4(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, v4Create); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT event_id, event_time, event_name, event_type, event_details, user_uid,
		source_input, source_path, source_offset, stored_at FROM events ORDER BY seq`)
	if err != nil {
		return fmt.Errorf("read version 3 events: %w", err)
	}
	// The rows are read first: the connection serves one statement at a
	// time while blocks are written. One block's worth at a time would
	// need a cursor by seq; a store migrated once can afford the memory.
	var all []row
	for rows.Next() {
		e := new(event.Event)
		var ns int64
		var r row
		if err := rows.Scan(&e.ID, &ns, &e.Name, &e.Type, &r.details, &e.UserUID,
			&e.Source.Input, &e.Source.Path, &e.Source.Offset, &r.storedAt); err != nil {
			_ = rows.Close()
			return fmt.Errorf("read version 3 events: %w", err)
		}
		e.Time = time.Unix(0, ns).UTC()
		r.e = e
		all = append(all, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read version 3 events: %w", err)
	}
	_ = rows.Close()
	entries := make([]idEntry, 0, len(all))
	var w blockWriter
	var last int64
	for len(all) > 0 {
		// Consecutive rows of one source, as Write would have grouped them.
		n := 1
		for n < len(all) && n < blockEvents && all[n].e.Source.Input == all[0].e.Source.Input && all[n].e.Source.Path == all[0].e.Source.Path && all[n].storedAt == all[0].storedAt {
			n++
		}
		err := w.writeBlocks(ctx, tx, all[:n], func(i int, l int64) {
			entries = append(entries, idEntry{all[i].e.ID, l})
			last = max(last, locSeq(l))
		})
		if err != nil {
			return err
		}
		all = all[n:]
	}
	slices.SortFunc(entries, compareEntries)
	if len(entries) > 0 {
		if _, err := writeRun(ctx, tx, 1, entries); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO id_state (merged, version, span) VALUES (?, 1, ?)", last, w.span); err != nil {
		return fmt.Errorf("record merged ids: %w", err)
	}
	if _, err := tx.ExecContext(ctx, v4Drop); err != nil {
		return err
	}
	return nil
}
