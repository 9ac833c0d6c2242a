package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Time formats accepted by [ParseTime] and the time_format attribute, besides
// Go layouts.
const (
	FormatAuto    = "auto"
	FormatRFC3339 = "rfc3339"
	FormatEpochS  = "epoch_s"
	FormatEpochMS = "epoch_ms"
	FormatEpochUS = "epoch_us"
	FormatEpochNS = "epoch_ns"
)

// Magnitude thresholds of "auto" for epoch numbers, on the absolute value of
// the integer part: below 1e11 the number counts seconds (up to the year
// 5138), below 1e14 milliseconds, below 1e17 microseconds, else nanoseconds.
const (
	autoSecondsBelow = 1e11
	autoMillisBelow  = 1e14
	autoMicrosBelow  = 1e17
)

// epochDigits maps an epoch format to the number of decimal digits of a
// second its unit stands for: 10^digits units make one second.
var epochDigits = map[string]int{FormatEpochS: 0, FormatEpochMS: 3, FormatEpochUS: 6, FormatEpochNS: 9}

// naiveLayouts are the zoneless ISO 8601 forms "auto" reads in the mapping's
// timezone; a fraction of any length after the seconds is accepted.
var naiveLayouts = []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05"}

// ParseTime reads an event time from a record value (string or json.Number;
// int64 and float64 are accepted for callers outside records) in format:
// "auto", "rfc3339", "epoch_s", "epoch_ms", "epoch_us", "epoch_ns" or a Go
// layout (containing "2006"). loc is the zone of values without one; nil
// means no zone was configured, and such values are an error. The result is
// in UTC, with full (nanosecond) precision, between the years 1 and 9999.
//
// "auto" accepts RFC 3339 with any fraction and offset, the naive forms
// "2006-01-02T15:04:05[.fraction]" and "2006-01-02 15:04:05[.fraction]" (read
// in loc), "2006-01-02 15:04:05[.fraction]Z07:00", and numbers or numeric
// strings as epoch times whose unit is guessed from the magnitude of the
// integer part: below 1e11 seconds, below 1e14 milliseconds, below 1e17
// microseconds, else nanoseconds. Fractions are read from the decimal text,
// exactly to the nanosecond (further digits are truncated).
func ParseTime(v any, format string, loc *time.Location) (time.Time, error) {
	var s string
	isNumber := false
	switch v := v.(type) {
	case string:
		s = v
	case json.Number:
		s, isNumber = string(v), true
	case int64:
		s, isNumber = strconv.FormatInt(v, 10), true
	case int:
		s, isNumber = strconv.Itoa(v), true
	case float64:
		s, isNumber = strconv.FormatFloat(v, 'f', -1, 64), true
	default:
		return time.Time{}, fmt.Errorf("%s is not a time", describe(v))
	}
	if format == "" {
		format = FormatAuto
	}
	var (
		t   time.Time
		err error
	)
	switch format {
	case FormatAuto:
		t, err = parseAuto(s, isNumber, loc)
	case FormatRFC3339:
		if isNumber {
			return time.Time{}, fmt.Errorf("%s is not an RFC 3339 time", s)
		}
		var ok bool
		if t, ok = parseUTCFast(s); !ok {
			t, err = time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return time.Time{}, fmt.Errorf("%s is not an RFC 3339 time", describe(s))
			}
		}
	case FormatEpochS, FormatEpochMS, FormatEpochUS, FormatEpochNS:
		t, err = parseEpoch(s, epochDigits[format], isNumber)
	default:
		t, err = parseLayout(s, format, loc)
	}
	if err != nil {
		return time.Time{}, err
	}
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, fmt.Errorf("%s is out of range (years 1 to 9999)", describeText(s, isNumber))
	}
	return t, nil
}

func describeText(s string, isNumber bool) string {
	if isNumber {
		return s
	}
	return describe(s)
}

// errNoZone is wrapped by ParseTime errors for naive values when no zone is
// configured.
var errNoZone = errors.New("has no zone; set timezone in the mapping")

func parseAuto(s string, isNumber bool, loc *time.Location) (time.Time, error) {
	if !isNumber {
		if t, ok := parseUTCFast(s); ok {
			return t, nil
		}
	}
	d, err := parseDecimal(s)
	if errors.Is(err, errOutOfRange) {
		return time.Time{}, fmt.Errorf("%s is out of range for an epoch time", describeText(s, isNumber))
	}
	if err == nil {
		intPart, _, ok := d.split(20)
		if !ok {
			return time.Time{}, fmt.Errorf("%s is out of range for an epoch time", describeText(s, isNumber))
		}
		mag, err := strconv.ParseFloat(intPart, 64) // magnitude only; the value is read exactly below
		if err != nil {
			return time.Time{}, fmt.Errorf("%s is out of range for an epoch time", describeText(s, isNumber))
		}
		digits := 9
		switch {
		case mag < autoSecondsBelow:
			digits = 0
		case mag < autoMillisBelow:
			digits = 3
		case mag < autoMicrosBelow:
			digits = 6
		}
		return epochTime(d, digits, s, isNumber)
	}
	if isNumber {
		return time.Time{}, fmt.Errorf("%s is not a time", s)
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02 15:04:05Z07:00", s); err == nil {
		return t, nil
	}
	for _, layout := range naiveLayouts {
		if _, err := time.Parse(layout, s); err != nil {
			continue
		}
		if loc == nil {
			return time.Time{}, fmt.Errorf("%s %w", describe(s), errNoZone)
		}
		return time.ParseInLocation(layout, s, loc)
	}
	return time.Time{}, fmt.Errorf("%s is not a time: want RFC 3339, an ISO date and time or an epoch number", describe(s))
}

func parseEpoch(s string, digits int, isNumber bool) (time.Time, error) {
	d, err := parseDecimal(s)
	if errors.Is(err, errOutOfRange) {
		return time.Time{}, fmt.Errorf("%s is out of range for an epoch time", describeText(s, isNumber))
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%s is not an epoch number", describeText(s, isNumber))
	}
	return epochTime(d, digits, s, isNumber)
}

// epochTime converts d, counted in units of 10^-digits seconds, to a time.
func epochTime(d decimal, digits int, s string, isNumber bool) (time.Time, error) {
	intPart, frac, ok := d.split(18 + digits)
	outOfRange := fmt.Errorf("%s is out of range for an epoch time", describeText(s, isNumber))
	if !ok {
		return time.Time{}, outOfRange
	}
	// Seconds are the integer part without its last digits digits; the
	// nanoseconds come from those digits followed by the fraction.
	secText, subText := "0", intPart
	if len(intPart) > digits {
		secText, subText = intPart[:len(intPart)-digits], intPart[len(intPart)-digits:]
	}
	sub := strings.Repeat("0", digits-len(subText)) + subText + frac
	sub = (sub + strings.Repeat("0", 9))[:9]
	sec, err := strconv.ParseInt(secText, 10, 64)
	if err != nil {
		return time.Time{}, outOfRange
	}
	nsec, err := strconv.ParseInt(sub, 10, 64)
	if err != nil {
		return time.Time{}, outOfRange
	}
	if d.neg {
		sec, nsec = -sec, -nsec
	}
	return time.Unix(sec, nsec), nil
}

func parseLayout(s, layout string, loc *time.Location) (time.Time, error) {
	zoneless := !layoutHasZone(layout)
	in := loc
	if in == nil {
		if zoneless {
			return time.Time{}, fmt.Errorf("%s %w", describe(s), errNoZone)
		}
		in = time.UTC
	}
	t, err := time.ParseInLocation(layout, s, in)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s does not match time_format %q", describe(s), layout)
	}
	return t, nil
}

// layoutHasZone reports whether a Go layout has a zone element: formatting
// one wall-clock time in two zones gives two texts only if it has.
func layoutHasZone(layout string) bool {
	a := time.Date(2006, 1, 2, 15, 4, 5, 0, time.FixedZone("AAA", 3600))
	b := time.Date(2006, 1, 2, 15, 4, 5, 0, time.FixedZone("BBB", 7200))
	return a.Format(layout) != b.Format(layout)
}

// isTimeFormat reports whether f is a valid time_format.
func isTimeFormat(f string) bool {
	switch f {
	case "", FormatAuto, FormatRFC3339, FormatEpochS, FormatEpochMS, FormatEpochUS, FormatEpochNS:
		return true
	}
	return strings.Contains(f, "2006")
}
