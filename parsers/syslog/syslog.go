package syslog

import (
	"bytes"
	encjson "encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	gosyslog "github.com/leodido/go-syslog/v4"
	"github.com/leodido/go-syslog/v4/rfc3164"
	"github.com/leodido/go-syslog/v4/rfc5424"

	"github.com/auditship/auditship/parsers"
	jsonp "github.com/auditship/auditship/parsers/json"
	logfmtp "github.com/auditship/auditship/parsers/logfmt"
)

// Config is the body of a `parser "syslog" { ... }` block.
type Config struct {
	// RFC selects the syslog format: "5424", "3164", or "auto" (default),
	// which reads a line as RFC 5424 when it starts with "<PRI>1 " or "1 "
	// and as RFC 3164 otherwise.
	RFC   string    `hcl:"rfc,optional"`
	RFCAt hcl.Range `hcl:"rfc,attr_value_range"`

	// MessageFormat says how to parse the MSG part into the record's "msg"
	// field: "none" (default; msg is absent), "json" or "logfmt" (with the
	// json and logfmt parsers' defaults, after an optional "@cee:" prefix).
	MessageFormat   string    `hcl:"message_format,optional"`
	MessageFormatAt hcl.Range `hcl:"message_format,attr_value_range"`

	// Timezone is the IANA zone name ("Europe/Paris") in which RFC 3164
	// timestamps, which carry no zone and no year, are read; the year is the
	// current one in that zone (see the package doc). Default "UTC".
	Timezone   string    `hcl:"timezone,optional"`
	TimezoneAt hcl.Range `hcl:"timezone,attr_value_range"`

	// Block is where the parser block is defined, the Subject of diagnostics
	// about absent keys. gohcl fills it only when decoding a block; after the
	// second pass (DecodeBody of the block's remain body) the config loader
	// copies the parser block's DefRange here.
	Block hcl.Range `hcl:",def_range"`
}

// DefaultConfig returns the defaults: rfc = "auto", message_format = "none",
// timezone = "UTC".
func DefaultConfig() Config {
	return Config{RFC: "auto", MessageFormat: "none", Timezone: "UTC"}
}

// subject returns at, or the block's range when the attribute was not set.
func (c *Config) subject(at hcl.Range) *hcl.Range {
	if at.Filename == "" {
		return c.Block.Ptr()
	}
	return at.Ptr()
}

// Validate reports problems in c. It loads the zone with time.LoadLocation,
// which reads the system's (or an embedded) zone database, but does no other
// I/O.
func (c *Config) Validate() hcl.Diagnostics {
	var diags hcl.Diagnostics
	switch c.RFC {
	case "auto", "5424", "3164":
	default:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid rfc",
			Detail:   fmt.Sprintf(`The rfc %q is not supported; use "auto", "5424" or "3164".`, c.RFC),
			Subject:  c.subject(c.RFCAt),
		})
	}
	switch c.MessageFormat {
	case "none", "json", "logfmt":
	default:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid message_format",
			Detail:   fmt.Sprintf(`The message_format %q is not supported; use "none", "json" or "logfmt".`, c.MessageFormat),
			Subject:  c.subject(c.MessageFormatAt),
		})
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil || c.Timezone == "" {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid timezone",
			Detail:   fmt.Sprintf(`The timezone %q is not a known IANA zone name; use one such as "UTC" or "Europe/Paris".`, c.Timezone),
			Subject:  c.subject(c.TimezoneAt),
		})
	}
	return diags
}

// Decoder reads one syslog message per line. It is safe for concurrent use.
type Decoder struct {
	rfc    string
	loc    *time.Location
	msgDec parsers.Decoder // nil for message_format "none"
	now    func() time.Time

	p5424 sync.Pool // of gosyslog.Machine; a machine is not safe for concurrent use
	p3164 sync.Pool
}

var _ parsers.Decoder = (*Decoder)(nil)

// New returns a Decoder for c.
func New(c Config) (*Decoder, error) {
	if diags := c.Validate(); diags.HasErrors() {
		return nil, fmt.Errorf("syslog parser config: %s", diags.Error())
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		return nil, fmt.Errorf("load timezone %q: %w", c.Timezone, err)
	}
	d := &Decoder{rfc: c.RFC, loc: loc, now: time.Now}
	switch c.MessageFormat {
	case "json":
		if d.msgDec, err = jsonp.New(jsonp.DefaultConfig()); err != nil {
			return nil, err
		}
	case "logfmt":
		if d.msgDec, err = logfmtp.New(logfmtp.DefaultConfig()); err != nil {
			return nil, err
		}
	}
	d.p5424.New = func() any {
		return rfc5424.NewParser(rfc5424.WithOptionalPriority())
	}
	d.p3164.New = func() any {
		return rfc3164.NewParser(
			rfc3164.WithOptionalPriority(),
			rfc3164.WithLocaleTimezone(loc),
			rfc3164.WithRFC3339(),
		)
	}
	return d, nil
}

// Decode parses line as one syslog message. See the package doc for the
// record's fields. A blank line returns an error wrapping [parsers.ErrSkip];
// a line the RFC grammar rejects returns an error such as "invalid syslog
// (RFC 5424): ...". The Record does not alias line.
func (d *Decoder) Decode(line []byte) (parsers.Record, error) {
	line = bytes.TrimRight(line, "\r")
	if len(bytes.TrimLeft(line, " \t\v\f\n")) == 0 {
		return nil, fmt.Errorf("blank line: %w", parsers.ErrSkip)
	}
	rfc := d.rfc
	if rfc == "auto" {
		rfc = "3164"
		if is5424(line) {
			rfc = "5424"
		}
	}
	pool := &d.p3164
	if rfc == "5424" {
		pool = &d.p5424
	}
	m := pool.Get().(gosyslog.Machine)
	msg, err := parse(m, line)
	pool.Put(m)
	if err != nil {
		return nil, fmt.Errorf("invalid syslog (RFC %s): %w", rfc, err)
	}
	rec := make(parsers.Record, 12)
	switch msg := msg.(type) {
	case *rfc5424.SyslogMessage:
		d.base(rec, &msg.Base)
		if msg.StructuredData != nil && len(*msg.StructuredData) > 0 {
			sd := make(map[string]any, len(*msg.StructuredData))
			for id, params := range *msg.StructuredData {
				pm := make(map[string]any, len(params))
				for k, v := range params {
					pm[k] = v
				}
				sd[id] = pm
			}
			rec["structured_data"] = sd
		}
	case *rfc3164.SyslogMessage:
		d.base(rec, &msg.Base)
	default:
		return nil, fmt.Errorf("invalid syslog (RFC %s): unexpected message type %T", rfc, msg)
	}
	return rec, nil
}

// parse runs the library's parser, turning a panic in it into an error so a
// hostile line cannot stop the agent.
func parse(m gosyslog.Machine, line []byte) (msg gosyslog.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			msg, err = nil, fmt.Errorf("syslog parser panicked: %v", r)
		}
	}()
	msg, err = m.Parse(line)
	if err == nil && msg == nil {
		err = errors.New("not a syslog message")
	}
	return msg, err
}

func number(v uint8) encjson.Number { return encjson.Number(strconv.Itoa(int(v))) }

func setString(rec parsers.Record, k string, v *string) {
	if v != nil {
		rec[k] = *v
	}
}

// base copies the fields common to both RFCs into rec.
func (d *Decoder) base(rec parsers.Record, b *gosyslog.Base) {
	if b.Priority != nil {
		rec["priority"] = number(*b.Priority)
	}
	if b.Facility != nil {
		rec["facility"] = number(*b.Facility)
	}
	if b.Severity != nil {
		rec["severity"] = number(*b.Severity)
	}
	if b.Timestamp != nil {
		rec["timestamp"] = d.fixYear(*b.Timestamp).UTC().Format(time.RFC3339Nano)
	}
	setString(rec, "hostname", b.Hostname)
	setString(rec, "app_name", b.Appname)
	setString(rec, "proc_id", b.ProcID)
	setString(rec, "msg_id", b.MsgID)
	if b.Message == nil {
		return
	}
	message := string(bytes.TrimPrefix([]byte(*b.Message), []byte("\xEF\xBB\xBF")))
	rec["message"] = message
	if d.msgDec == nil {
		return
	}
	body := bytes.TrimSpace([]byte(message))
	if rest, ok := bytes.CutPrefix(body, []byte("@cee:")); ok {
		body = bytes.TrimSpace(rest)
	}
	if parsed, err := d.msgDec.Decode(body); err == nil {
		rec["msg"] = parsed
	}
}

// futureSlack is how far ahead of now a yearless RFC 3164 timestamp may be
// before it is taken to belong to the previous year.
const futureSlack = 7 * 24 * time.Hour

// fixYear gives a yearless RFC 3164 timestamp (year 0) the current year in the
// configured zone, or the previous year when that would put it more than
// futureSlack in the future (a December line read in January).
func (d *Decoder) fixYear(t time.Time) time.Time {
	if t.Year() != 0 {
		return t
	}
	now := d.now().In(d.loc)
	at := func(year int) time.Time {
		return time.Date(year, t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), d.loc)
	}
	if y := at(now.Year()); !y.After(now.Add(futureSlack)) {
		return y
	}
	return at(now.Year() - 1)
}

// is5424 reports whether line starts like an RFC 5424 message: an optional
// "<PRI>" then the version "1" and a space.
func is5424(line []byte) bool {
	i := 0
	if len(line) > 0 && line[0] == '<' {
		j := 1
		for j < len(line) && j <= 4 && line[j] >= '0' && line[j] <= '9' {
			j++
		}
		if j == 1 || j >= len(line) || line[j] != '>' {
			return false
		}
		i = j + 1
	}
	return len(line) >= i+2 && line[i] == '1' && line[i+1] == ' '
}
