package elasticsearch

import (
	"github.com/auditship/auditship/internal/jsonstr"
	"strconv"
	"time"

	"github.com/auditship/auditship/event"
)

// timeLayout is event_time as stored: microseconds, UTC, with a "Z" so that
// both Elasticsearch's strict_date_optional_time and ZincSearch's RFC 3339
// parser read it.
const timeLayout = "2006-01-02T15:04:05.000000Z"

// indexFor returns the concrete index of an event time: "<prefix>-YYYY.MM"
// by the UTC month.
func indexFor(prefix string, t time.Time) string {
	return prefix + "-" + t.UTC().Format("2006.01")
}

// appendBulkItem appends the two NDJSON lines of a create action for e to
// buf: the action line and the document. details is e.Details already
// encoded as a JSON object. searchable adds the copy under
// details.<event_name>; without it the event is still stored whole (in
// event_details), only not searchable by its details.
func appendBulkItem(buf []byte, index string, e *event.Event, details []byte, searchable bool) []byte {
	buf = append(buf, `{"create":{"_index":`...)
	buf = jsonstr.Append(buf, index)
	buf = append(buf, `,"_id":"`...)
	buf = strconv.AppendInt(buf, e.ID, 10)
	buf = append(buf, "\"}}\n"...)

	t := e.Time.UTC()
	buf = append(buf, `{"event_id":`...)
	buf = strconv.AppendInt(buf, e.ID, 10)
	buf = append(buf, `,"event_time":"`...)
	buf = t.AppendFormat(buf, timeLayout)
	buf = append(buf, `","event_time_us":`...)
	buf = strconv.AppendInt(buf, t.UnixMicro(), 10)
	buf = append(buf, `,"event_name":`...)
	buf = jsonstr.Append(buf, e.Name)
	buf = append(buf, `,"event_type":`...)
	buf = jsonstr.Append(buf, e.Type)
	buf = append(buf, `,"user_uid":`...)
	buf = strconv.AppendInt(buf, e.UserUID, 10)
	buf = append(buf, `,"event_details":`...)
	buf = jsonstr.Append(buf, string(details))
	if searchable && len(details) > 2 { // not "{}"
		buf = append(buf, `,"details":{`...)
		buf = jsonstr.Append(buf, detailsKey(e.Name))
		buf = append(buf, ':')
		buf = append(buf, details...)
		buf = append(buf, '}')
	}
	buf = append(buf, "}\n"...)
	return buf
}

// detailsKey turns an event_name into the key of its searchable copy under
// "details": characters other than ASCII letters, digits, '_' and '-' (dots
// above all, which Elasticsearch reads as object paths) become '_'.
func detailsKey(name string) string {
	if name == "" {
		return "_"
	}
	ok := true
	for i := 0; i < len(name); i++ {
		if !keyByte(name[i]) {
			ok = false
			break
		}
	}
	if ok {
		return name
	}
	b := []byte(name)
	for i := range b {
		if !keyByte(b[i]) {
			b[i] = '_'
		}
	}
	return string(b)
}

func keyByte(c byte) bool {
	return c == '_' || c == '-' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9')
}
