package mapping

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseTime(t *testing.T) {
	t.Parallel()
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		v       any
		format  string
		loc     *time.Location
		want    time.Time
		wantErr string
	}{
		{name: "rfc3339 z", v: "2021-08-17T20:51:47Z", want: ts("2021-08-17T20:51:47Z")},
		{name: "rfc3339 ns", v: "2021-08-17T20:51:47.123456789Z", want: time.Date(2021, 8, 17, 20, 51, 47, 123456789, time.UTC)},
		{name: "rfc3339 offset", v: "2021-08-17T22:51:47.268843+02:00", want: time.Date(2021, 8, 17, 20, 51, 47, 268843000, time.UTC)},
		{name: "rfc3339 negative offset", v: "2021-08-17T15:51:47-05:00", want: ts("2021-08-17T20:51:47Z")},
		{name: "rfc3339 offset ignores timezone", v: "2021-08-17T22:51:47+02:00", loc: ny, want: ts("2021-08-17T20:51:47Z")},
		{name: "space with offset", v: "2024-07-12 13:33:01+02:00", want: ts("2024-07-12T11:33:01Z")},
		{name: "naive T with fraction utc", v: "2021-08-17T20:51:47.268843", loc: time.UTC, want: time.Date(2021, 8, 17, 20, 51, 47, 268843000, time.UTC)},
		{name: "naive space utc", v: "2024-07-12 13:33:01", loc: time.UTC, want: ts("2024-07-12T13:33:01Z")},
		{name: "naive space fraction", v: "2024-07-12 13:33:01.5", loc: time.UTC, want: time.Date(2024, 7, 12, 13, 33, 1, 500000000, time.UTC)},
		{name: "naive new york summer", v: "2024-07-12 13:33:01", loc: ny, want: ts("2024-07-12T17:33:01Z")},
		{name: "naive new york winter", v: "2024-01-12T13:33:01", loc: ny, want: ts("2024-01-12T18:33:01Z")},
		{name: "naive new york after dst start", v: "2024-03-10 03:30:00", loc: ny, want: ts("2024-03-10T07:30:00Z")},
		{name: "naive new york before dst start", v: "2024-03-10 01:30:00", loc: ny, want: ts("2024-03-10T06:30:00Z")},
		{name: "naive without zone", v: "2024-07-12 13:33:01", wantErr: `"2024-07-12 13:33:01" has no zone; set timezone in the mapping`},
		{name: "auto epoch s number", v: json.Number("1700000000"), want: time.Unix(1700000000, 0)},
		{name: "auto epoch s string", v: "1700000000", want: time.Unix(1700000000, 0)},
		{name: "auto epoch s fraction string", v: "1700000000.123456", want: time.Unix(1700000000, 123456000)},
		{name: "auto epoch s fraction number", v: json.Number("1700000000.123456789"), want: time.Unix(1700000000, 123456789)},
		{name: "auto epoch s fraction beyond ns truncated", v: json.Number("1700000000.1234567899"), want: time.Unix(1700000000, 123456789)},
		{name: "auto epoch s exponent", v: json.Number("1.7e9"), want: time.Unix(1700000000, 0)},
		{name: "auto epoch s below threshold", v: json.Number("99999999999"), want: time.Unix(99999999999, 0)},
		{name: "auto epoch ms threshold", v: json.Number("100000000000"), want: time.Unix(100000000, 0)},
		{name: "auto epoch ms", v: json.Number("1700000000123"), want: time.Unix(1700000000, 123000000)},
		{name: "auto epoch ms string fraction", v: "1700000000123.5", want: time.Unix(1700000000, 123500000)},
		{name: "auto epoch us", v: json.Number("1700000000123456"), want: time.Unix(1700000000, 123456000)},
		{name: "auto epoch us string", v: "1700000000123456", want: time.Unix(1700000000, 123456000)},
		{name: "auto epoch ns", v: json.Number("1700000000123456789"), want: time.Unix(1700000000, 123456789)},
		{name: "auto epoch ns string", v: "1700000000123456789", want: time.Unix(1700000000, 123456789)},
		{name: "auto epoch zero", v: json.Number("0"), want: time.Unix(0, 0)},
		{name: "auto epoch negative", v: json.Number("-1.5"), want: time.Unix(-2, 500000000)},
		{name: "auto int64", v: int64(1700000000), want: time.Unix(1700000000, 0)},
		{name: "epoch_s", v: json.Number("1700000000"), format: FormatEpochS, want: time.Unix(1700000000, 0)},
		{name: "epoch_s small", v: json.Number("5"), format: FormatEpochS, want: time.Unix(5, 0)},
		{name: "epoch_ms", v: "1700000000123", format: FormatEpochMS, want: time.Unix(1700000000, 123000000)},
		{name: "epoch_ms small", v: json.Number("5"), format: FormatEpochMS, want: time.Unix(0, 5000000)},
		{name: "epoch_us", v: json.Number("1700000000123456"), format: FormatEpochUS, want: time.Unix(1700000000, 123456000)},
		{name: "epoch_us fraction", v: json.Number("1.5"), format: FormatEpochUS, want: time.Unix(0, 1500)},
		{name: "epoch_ns", v: json.Number("1700000000123456789"), format: FormatEpochNS, want: time.Unix(1700000000, 123456789)},
		{name: "epoch_ns string", v: "1700000000123456789", format: FormatEpochNS, want: time.Unix(1700000000, 123456789)},
		{name: "epoch_s not a number", v: "soon", format: FormatEpochS, wantErr: `"soon" is not an epoch number`},
		{name: "epoch_s out of range", v: json.Number("1e30"), format: FormatEpochS, wantErr: `1e30 is out of range for an epoch time`},
		{name: "epoch_s beyond year 9999", v: json.Number("1e12"), format: FormatEpochS, wantErr: `1e12 is out of range (years 1 to 9999)`},
		{name: "rfc3339 format", v: "2021-08-17T20:51:47.1Z", format: FormatRFC3339, want: time.Date(2021, 8, 17, 20, 51, 47, 100000000, time.UTC)},
		{name: "rfc3339 rejects naive", v: "2021-08-17T20:51:47", format: FormatRFC3339, loc: time.UTC, wantErr: `"2021-08-17T20:51:47" is not an RFC 3339 time`},
		{name: "rfc3339 rejects number", v: json.Number("1700000000"), format: FormatRFC3339, wantErr: `1700000000 is not an RFC 3339 time`},
		{name: "layout with zone", v: "12/Jul/2024:13:33:01 +0200", format: "02/Jan/2006:15:04:05 -0700", want: ts("2024-07-12T11:33:01Z")},
		{name: "layout naive in zone", v: "12.07.2024 13:33", format: "02.01.2006 15:04", loc: ny, want: ts("2024-07-12T17:33:00Z")},
		{name: "layout naive without zone", v: "12.07.2024 13:33", format: "02.01.2006 15:04", wantErr: `"12.07.2024 13:33" has no zone; set timezone in the mapping`},
		{name: "layout mismatch", v: "2024-07-12", format: "02.01.2006 15:04", loc: time.UTC, wantErr: `"2024-07-12" does not match time_format "02.01.2006 15:04"`},
		{name: "layout number", v: json.Number("20240712"), format: "20060102", loc: time.UTC, want: ts("2024-07-12T00:00:00Z")},
		{name: "garbage", v: "yesterday", wantErr: `"yesterday" is not a time: want RFC 3339, an ISO date and time or an epoch number`},
		{name: "empty", v: "", wantErr: `"" is not a time: want RFC 3339, an ISO date and time or an epoch number`},
		{name: "bad date", v: "2024-02-30T00:00:00Z", wantErr: `"2024-02-30T00:00:00Z" is not a time: want RFC 3339, an ISO date and time or an epoch number`},
		{name: "bool", v: true, wantErr: `true is not a time`},
		{name: "huge exponent", v: json.Number("1e99999"), wantErr: `1e99999 is out of range for an epoch time`},
		{name: "huge exponent string", v: "1e99999", format: FormatEpochMS, wantErr: `"1e99999" is out of range for an epoch time`},
		{name: "tiny exponent", v: json.Number("1e-99999"), wantErr: `1e-99999 is out of range for an epoch time`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseTime(tt.v, tt.format, tt.loc)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("ParseTime(%v) error = %v\nwant %s", tt.v, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTime(%v) error = %v", tt.v, err)
			}
			if diff := cmp.Diff(tt.want.UTC(), got); diff != "" {
				t.Errorf("ParseTime(%v) (-want +got):\n%s", tt.v, diff)
			}
		})
	}
}

func TestLayoutHasZone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		layout string
		want   bool
	}{
		{"2006-01-02 15:04:05", false},
		{"2006-01-02T15:04:05Z07:00", true},
		{"02/Jan/2006:15:04:05 -0700", true},
		{"Mon Jan _2 15:04:05 MST 2006", true},
		{"2006-01-02 15:04:05 -07", true},
		{"20060102", false},
	}
	for _, tt := range tests {
		t.Run(tt.layout, func(t *testing.T) {
			t.Parallel()
			if got := layoutHasZone(tt.layout); got != tt.want {
				t.Errorf("layoutHasZone(%q) = %v, want %v", tt.layout, got, tt.want)
			}
		})
	}
}
