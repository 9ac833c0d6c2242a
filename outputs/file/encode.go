package file

import (
	"strconv"
	"time"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/internal/jsonenc"
)

// appendEvent appends the JSON form of e to dst, byte for byte what
// [event.Event.MarshalJSON] produces (encoding/json: sorted map keys, HTML
// characters escaped), without reflection for the JSON-shaped values decoders
// produce ([event.AppendDetails]). Values of other types are encoded with
// encoding/json. On error dst may hold a partial event. It allocates nothing
// for JSON-shaped details of up to 16 attributes per object.
func appendEvent(dst []byte, e *event.Event) ([]byte, error) {
	dst = append(dst, `{"event_id":`...)
	dst = strconv.AppendInt(dst, e.ID, 10)
	dst = append(dst, `,"event_time":"`...)
	dst = appendTime(dst, e.Time)
	dst = append(dst, `","event_name":`...)
	dst = jsonenc.AppendString(dst, e.Name)
	dst = append(dst, `,"event_type":`...)
	dst = jsonenc.AppendString(dst, e.Type)
	dst = append(dst, `,"event_details":`...)
	var err error
	if dst, err = event.AppendDetails(dst, e.Details); err != nil {
		return dst, err
	}
	dst = append(dst, `,"user_uid":`...)
	dst = strconv.AppendInt(dst, e.UserUID, 10)
	return append(dst, '}'), nil
}

// digits2 holds "00" to "99".
const digits2 = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

func append2(dst []byte, n int64) []byte {
	return append(dst, digits2[2*n], digits2[2*n+1])
}

// appendTime appends t in UTC as [event.TimeLayout] formats it
// ("2006-01-02T15:04:05.000000", fraction truncated), computing the civil
// date directly; years outside 0 to 9999 go through time.Time.AppendFormat.
func appendTime(dst []byte, t time.Time) []byte {
	sec := t.Unix()
	days, rem := sec/86400, sec%86400
	if rem < 0 {
		days, rem = days-1, rem+86400
	}
	// Civil date from days since 1970-01-01 (H. Hinnant, "chrono-compatible
	// low-level date algorithms"), in the proleptic Gregorian calendar.
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
		y++
	}
	if y < 0 || y > 9999 {
		return t.UTC().AppendFormat(dst, event.TimeLayout)
	}
	dst = append2(dst, y/100)
	dst = append2(dst, y%100)
	dst = append(dst, '-')
	dst = append2(dst, m)
	dst = append(dst, '-')
	dst = append2(dst, d)
	dst = append(dst, 'T')
	dst = append2(dst, rem/3600)
	dst = append(dst, ':')
	dst = append2(dst, rem/60%60)
	dst = append(dst, ':')
	dst = append2(dst, rem%60)
	dst = append(dst, '.')
	us := int64(t.Nanosecond() / 1000)
	dst = append2(dst, us/10000)
	dst = append2(dst, us/100%100)
	return append2(dst, us%100)
}
