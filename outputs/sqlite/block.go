package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/internal/jsonenc"
)

// blockEvents is the most events one block holds. A location (see loc)
// keeps the index in a block in its low 8 bits.
const blockEvents = 256

// loc is where an event is stored: its block's seq times blockEvents plus
// its index in the block's events array.
func loc(seq int64, i int) int64 { return seq<<8 | int64(i) }

// locSeq and locIndex take a location apart.
func locSeq(l int64) int64 { return l >> 8 }
func locIndex(l int64) int { return int(l & (blockEvents - 1)) }

// row is one event to store: the event, its details encoded as JSON
// ([event.AppendDetails]) and when it was stored (nanoseconds since the
// Unix epoch, UTC).
type row struct {
	e        *event.Event
	details  string
	storedAt int64
}

// blockEvent is one element of a block's events array. The short names
// keep a block small; the events view gives them the column names.
type blockEvent struct {
	ID      int64           `json:"id"`
	Time    int64           `json:"t"` // event_time, nanoseconds since the Unix epoch, UTC
	Name    string          `json:"n"`
	Type    string          `json:"y"`
	UserUID int64           `json:"u"`
	Details json.RawMessage `json:"d"`
	Offset  int64           `json:"o"` // source_offset
}

// event returns b as an event; its details are decoded.
func (b *blockEvent) event() (event.Event, error) {
	d, err := event.UnmarshalDetails(b.Details)
	if err != nil {
		return event.Event{}, fmt.Errorf("event %d: %w", b.ID, err)
	}
	return event.Event{ID: b.ID, Time: time.Unix(0, b.Time).UTC(), Name: b.Name, Type: b.Type, Details: d, UserUID: b.UserUID}, nil
}

// decodeBlock decodes a block's events array. Elements deleted through the
// events view are null and come back nil.
func decodeBlock(events []byte) ([]*blockEvent, error) {
	var evs []*blockEvent
	if err := json.Unmarshal(events, &evs); err != nil {
		return nil, fmt.Errorf("decode block: %w", err)
	}
	return evs, nil
}

// appendBlockEvent appends r as an element of a block's events array.
func appendBlockEvent(dst []byte, r row) []byte {
	e := r.e
	dst = append(dst, `{"id":`...)
	dst = strconv.AppendInt(dst, e.ID, 10)
	dst = append(dst, `,"t":`...)
	dst = strconv.AppendInt(dst, e.Time.UnixNano(), 10)
	dst = append(dst, `,"n":`...)
	dst = jsonenc.AppendString(dst, e.Name)
	dst = append(dst, `,"y":`...)
	dst = jsonenc.AppendString(dst, e.Type)
	dst = append(dst, `,"u":`...)
	dst = strconv.AppendInt(dst, e.UserUID, 10)
	dst = append(dst, `,"d":`...)
	dst = append(dst, r.details...)
	dst = append(dst, `,"o":`...)
	dst = strconv.AppendInt(dst, e.Source.Offset, 10)
	return append(dst, '}')
}

// keySep separates the keys of a block; JSON strings cannot hold it
// unescaped.
const keySep = "\x1f"

// appendKey appends the key of a filter value as a block's keys column
// holds it, without the separators: the field's letter (n event_name, y
// event_type, u user_uid) and the value, strings as JSON strings.
func appendKey(dst []byte, field byte, name string, user int64) []byte {
	dst = append(dst, field)
	if field == 'u' {
		return strconv.AppendInt(dst, user, 10)
	}
	return jsonenc.AppendString(dst, name)
}

// blockWriter inserts blocks with a statement prepared once (or, when it
// is nil, with the SQL text); its buffers are reused from block to block.
// Not safe for concurrent use.
type blockWriter struct {
	insert *sql.Stmt // see insertBlockSQL
	events []byte
	ids    []byte
	keys   []byte
	span   int64    // the greatest max_time - min_time of the blocks written; MaxInt64: wider than int64 holds
	names  []string // distinct values of the block being written
	types  []string
	users  []int64
}

// insertBlockSQL stores one block and returns its seq.
// events is bound as a BLOB (no copy into a Go string) and stored as text:
// SQLite's JSON functions (the events view) would take a BLOB for JSONB.
const insertBlockSQL = `INSERT INTO blocks (min_time, max_time, source_input, source_path, stored_at, keys, ids, events)
	VALUES (?, ?, ?, ?, ?, ?, ?, CAST(? AS TEXT))`

// write stores rows (at most blockEvents, all of one source and stored at
// the same time) as one block in tx and returns its seq.
func (w *blockWriter) write(ctx context.Context, tx *sql.Tx, rows []row) (int64, error) {
	evs := append(w.events[:0], '[')
	ids := w.ids[:0]
	w.names, w.types, w.users = w.names[:0], w.types[:0], w.users[:0]
	minT, maxT := rows[0].e.Time.UnixNano(), rows[0].e.Time.UnixNano()
	for i, r := range rows {
		if i > 0 {
			evs = append(evs, ',')
		}
		evs = appendBlockEvent(evs, r)
		ids = binary.LittleEndian.AppendUint64(ids, uint64(r.e.ID))
		t := r.e.Time.UnixNano()
		minT, maxT = min(minT, t), max(maxT, t)
		// A block has a few distinct values: a scan of a short slice is
		// cheaper than a map.
		if !slices.Contains(w.names, r.e.Name) {
			w.names = append(w.names, r.e.Name)
		}
		if !slices.Contains(w.types, r.e.Type) {
			w.types = append(w.types, r.e.Type)
		}
		if !slices.Contains(w.users, r.e.UserUID) {
			w.users = append(w.users, r.e.UserUID)
		}
	}
	evs = append(evs, ']')
	span := maxT - minT
	if span < 0 { // overflow: times at both ends of the int64 range
		span = math.MaxInt64
	}
	w.span = max(w.span, span)
	keys := append(w.keys[:0], keySep...)
	for _, v := range w.names {
		keys = append(appendKey(keys, 'n', v, 0), keySep...)
	}
	for _, v := range w.types {
		keys = append(appendKey(keys, 'y', v, 0), keySep...)
	}
	for _, v := range w.users {
		keys = append(appendKey(keys, 'u', "", v), keySep...)
	}
	w.events, w.ids, w.keys = evs, ids, keys
	args := []any{minT, maxT, rows[0].e.Source.Input, rows[0].e.Source.Path, rows[0].storedAt, string(keys), ids, evs}
	var res sql.Result
	var err error
	if w.insert != nil {
		res, err = tx.StmtContext(ctx, w.insert).ExecContext(ctx, args...)
	} else {
		res, err = tx.ExecContext(ctx, insertBlockSQL, args...)
	}
	if err != nil {
		return 0, fmt.Errorf("insert block of %d events: %w", len(rows), err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("insert block of %d events: %w", len(rows), err)
	}
	return seq, nil
}

// writeBlocks stores rows as blocks: rows of one source (input and path)
// and stored_at go to the same blocks, in their order, at most blockEvents
// to a block,
// so that a block spans the times of one file's stretch of lines rather
// than those of every file a batch mixes. It calls stored with each
// row's index in rows and its location.
func (w *blockWriter) writeBlocks(ctx context.Context, tx *sql.Tx, rows []row, stored func(i int, l int64)) error {
	type source struct {
		input, path string
		stored      int64
	}
	var order []source
	groups := make(map[source][]int)
	for i, r := range rows {
		k := source{r.e.Source.Input, r.e.Source.Path, r.storedAt}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	block := make([]row, 0, blockEvents)
	for _, k := range order {
		idx := groups[k]
		for len(idx) > 0 {
			n := min(len(idx), blockEvents)
			block = block[:0]
			for _, i := range idx[:n] {
				block = append(block, rows[i])
			}
			seq, err := w.write(ctx, tx, block)
			if err != nil {
				return err
			}
			for j, i := range idx[:n] {
				stored(i, loc(seq, j))
			}
			idx = idx[n:]
		}
	}
	return nil
}

// readIDs decodes a block's ids column.
func readIDs(b []byte) []int64 {
	ids := make([]int64, len(b)/8)
	for i := range ids {
		ids[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return ids
}
