package mapping

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/parsers"
)

// Block is the mapping block of a file input in agent.hcl, decoded with
// gohcl. The expression attributes are HCL expressions over the variables
// record, input and path (see the package documentation).
type Block struct {
	// When selects the audit records: a bool; false or null skips the line
	// (the error wraps parsers.ErrSkip). Default: every record is an event.
	When hcl.Expression `hcl:"when,optional"`
	// EventID is event_id: an integer or integer string > 0. Null or absent:
	// derived from the line and its position with event.DeriveID.
	EventID hcl.Expression `hcl:"event_id,optional"`
	// EventTime is event_time, read with TimeFormat and Timezone. Required.
	EventTime hcl.Expression `hcl:"event_time,optional"`
	// EventName is event_name, a non-empty string. Required.
	EventName hcl.Expression `hcl:"event_name,optional"`
	// EventType is event_type, a non-empty string. Required.
	EventType hcl.Expression `hcl:"event_type,optional"`
	// EventDetails is event_details: an object; null or absent gives {}.
	EventDetails hcl.Expression `hcl:"event_details,optional"`
	// UserUID is user_uid: an integer or integer string within int64. Required.
	UserUID hcl.Expression `hcl:"user_uid,optional"`
	// TimeFormat says how event_time is read: "auto" (default), "rfc3339",
	// "epoch_s", "epoch_ms", "epoch_us", "epoch_ns" or a Go layout such as
	// "2006-01-02 15:04:05".
	TimeFormat string `hcl:"time_format,optional"`
	// Timezone is the IANA zone ("UTC", "Europe/Berlin") of times written
	// without one. Required when TimeFormat is a layout without a zone; with
	// "auto" and no Timezone, a time without a zone dead-letters its line.
	Timezone string `hcl:"timezone,optional"`

	DefRange          hcl.Range `hcl:",def_range"`
	WhenRange         hcl.Range `hcl:"when,attr_value_range"`
	EventIDRange      hcl.Range `hcl:"event_id,attr_value_range"`
	EventTimeRange    hcl.Range `hcl:"event_time,attr_value_range"`
	EventNameRange    hcl.Range `hcl:"event_name,attr_value_range"`
	EventTypeRange    hcl.Range `hcl:"event_type,attr_value_range"`
	EventDetailsRange hcl.Range `hcl:"event_details,attr_value_range"`
	UserUIDRange      hcl.Range `hcl:"user_uid,attr_value_range"`
	TimeFormatRange   hcl.Range `hcl:"time_format,attr_value_range"`
	TimezoneRange     hcl.Range `hcl:"timezone,attr_value_range"`
}

// Mapping is a compiled mapping block. It is immutable and safe for
// concurrent use.
type Mapping struct {
	when, eventID, eventTime, eventName, eventType, eventDetails, userUID *expr

	timeFormat string
	loc        *time.Location // nil: no timezone configured

	// needRecord reports whether some general expression reads record, so
	// that Map converts the record to cty (once per line).
	needRecord bool
	recordTree *pathNode

	// keys are the top-level record keys the expressions read, each cut at
	// its first '.'; allKeys: some expression reads the record whole or
	// by a computed key.
	keys    []string
	allKeys bool

	// paths are the record paths that plain paths and predicates read,
	// each once, by slot (see Paths); noPaths: one of them has an index
	// step or no step, which a decode by paths cannot serve.
	paths   [][]string
	noPaths bool
}

// RecordKeys returns the top-level keys of the record that the expressions
// read, each cut at its first '.' (record["a.b"] and record.a.c both give
// "a"), sorted, and all true when some expression reads the record whole
// (record on its own, record[expr] with a computed key, a splat): then every
// key matters. A decoder that builds only these keys ([parsers.Projector])
// gives Map the same result as one that builds the whole record.
func (m *Mapping) RecordKeys() (keys []string, all bool) {
	return slices.Clone(m.keys), m.allKeys
}

// Paths returns the record paths the mapping reads, each a list of object
// keys from the top level, when it reads the record through nothing else:
// plain paths (record.audit.resource, record["a.b"]) and predicates over
// them, none with a numeric step. ok is false when some expression needs the
// whole record (a general expression reading record, an index step, record
// on its own). A decoder that finds the values at these paths
// ([parsers.PathDecoder]) lets [Mapping.MapValues] give the same result as
// Map on the whole record.
func (m *Mapping) Paths() (paths [][]string, ok bool) {
	if m.noPaths || m.needRecord || m.allKeys {
		return nil, false
	}
	for _, p := range m.paths {
		paths = append(paths, slices.Clone(p))
	}
	return paths, true
}

// addPath gives the plain path e of record its slot in m.paths.
func (m *Mapping) addPath(e *expr) {
	if e.root != varRecord {
		return
	}
	keys := make([]string, 0, len(e.steps))
	for _, st := range e.steps {
		if st.hasIdx {
			m.noPaths = true
		}
		keys = append(keys, st.name)
	}
	if len(keys) == 0 {
		m.noPaths = true
	}
	for i, p := range m.paths {
		if slices.Equal(p, keys) {
			e.slot = i
			return
		}
	}
	e.slot = len(m.paths)
	m.paths = append(m.paths, keys)
}

// addKeys records the top-level record keys that he reads.
func (m *Mapping) addKeys(he hcl.Expression) {
	for _, tr := range he.Variables() {
		if tr.RootName() != varRecord {
			continue
		}
		var key string
		if len(tr) > 1 {
			switch t := tr[1].(type) {
			case hcl.TraverseAttr:
				key = t.Name
			case hcl.TraverseIndex:
				if t.Key.Type() == cty.String && t.Key.IsKnown() && !t.Key.IsNull() {
					key = t.Key.AsString()
				}
			}
		}
		if key == "" {
			// record whole, record[0], record[""]: every key may matter.
			m.allKeys = true
			continue
		}
		key, _, _ = strings.Cut(key, ".")
		if key == "" {
			m.allKeys = true // ".a": kept as written, read as a top-level key
			continue
		}
		if !slices.Contains(m.keys, key) {
			m.keys = append(m.keys, key)
			slices.Sort(m.keys)
		}
	}
}

// attribute describes one expression attribute of Block for Compile.
type attribute struct {
	name     string
	expr     hcl.Expression
	rng      hcl.Range
	required bool
	dst      **expr
}

// Compile checks a mapping block and prepares it for [Mapping.Map]. It
// reports, each with a Subject: missing required attributes (event_time,
// event_name, event_type, user_uid), variables other than record, input and
// path, unknown functions, constant expressions that fail, and invalid
// time_format or timezone (including a zoneless Go layout without timezone).
func Compile(b Block) (*Mapping, hcl.Diagnostics) {
	m := &Mapping{recordTree: &pathNode{}}
	var diags hcl.Diagnostics
	attrs := []attribute{
		{"when", b.When, b.WhenRange, false, &m.when},
		{"event_id", b.EventID, b.EventIDRange, false, &m.eventID},
		{"event_time", b.EventTime, b.EventTimeRange, true, &m.eventTime},
		{"event_name", b.EventName, b.EventNameRange, true, &m.eventName},
		{"event_type", b.EventType, b.EventTypeRange, true, &m.eventType},
		{"event_details", b.EventDetails, b.EventDetailsRange, false, &m.eventDetails},
		{"user_uid", b.UserUID, b.UserUIDRange, true, &m.userUID},
	}
	for _, a := range attrs {
		if absent(a.expr, a.rng) {
			if a.required {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Missing required argument",
					Detail:   fmt.Sprintf("The argument %q is required in a mapping block, but no definition was found.", a.name),
					Subject:  b.DefRange.Ptr(),
				})
				continue
			}
			// An absent optional attribute is null: its default applies.
			*a.dst = &expr{field: a.name, isConst: true}
			continue
		}
		e, d := m.compileExpr(a.name, a.expr)
		diags = append(diags, d...)
		*a.dst = e
	}

	m.timeFormat = b.TimeFormat
	if m.timeFormat == "" {
		m.timeFormat = FormatAuto
	}
	if !isTimeFormat(b.TimeFormat) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid time_format",
			Detail:   fmt.Sprintf("The time_format %q is not one of \"auto\", \"rfc3339\", \"epoch_s\", \"epoch_ms\", \"epoch_us\", \"epoch_ns\", nor a Go layout containing 2006.", b.TimeFormat),
			Subject:  subject(b.TimeFormatRange, b.DefRange),
		})
	}
	if b.Timezone != "" {
		loc, err := time.LoadLocation(b.Timezone)
		if err != nil || b.Timezone == "Local" {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid timezone",
				Detail:   fmt.Sprintf("The timezone %q is not a known IANA time zone name; use one such as \"UTC\" or \"Europe/Berlin\".", b.Timezone),
				Subject:  subject(b.TimezoneRange, b.DefRange),
			})
		}
		m.loc = loc
	} else if isTimeFormat(b.TimeFormat) && isLayout(m.timeFormat) && !layoutHasZone(m.timeFormat) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing timezone",
			Detail:   fmt.Sprintf("The time_format %q has no zone element, and timezone is required when time_format has no zone; set timezone to an IANA name such as \"UTC\".", b.TimeFormat),
			Subject:  subject(b.TimeFormatRange, b.DefRange),
		})
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return m, diags
}

// isLayout reports whether a valid time_format is a Go layout.
func isLayout(f string) bool {
	_, epoch := epochDigits[f]
	return f != FormatAuto && f != FormatRFC3339 && !epoch
}

// absent reports whether an attribute was left out: gohcl puts a static null
// expression without a value range in place of a missing hcl.Expression.
func absent(e hcl.Expression, valueRange hcl.Range) bool {
	if e == nil {
		return true
	}
	if valueRange.Start.Line != 0 || len(e.Variables()) != 0 {
		return false
	}
	v, diags := e.Value(nil)
	return !diags.HasErrors() && v.IsNull()
}

func subject(r, fallback hcl.Range) *hcl.Range {
	if r.Start.Line == 0 {
		return fallback.Ptr()
	}
	return r.Ptr()
}

// compileExpr checks one expression and picks its form: constant, plain path
// or general.
func (m *Mapping) compileExpr(name string, he hcl.Expression) (*expr, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	vars := he.Variables()
	m.addKeys(he)
	for _, tr := range vars {
		switch tr.RootName() {
		case varRecord, varInput, varPath:
		default:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unknown variable",
				Detail:   fmt.Sprintf("There is no variable named %q; a mapping can read record (the decoded line), input (the input's name) and path (the file's path).", tr.RootName()),
				Subject:  tr.SourceRange().Ptr(),
			})
		}
	}
	if se, ok := he.(hclsyntax.Expression); ok {
		diags = append(diags, hclsyntax.VisitAll(se, func(n hclsyntax.Node) hcl.Diagnostics {
			call, ok := n.(*hclsyntax.FunctionCallExpr)
			if !ok {
				return nil
			}
			if _, known := functions[call.Name]; known {
				return nil
			}
			detail := fmt.Sprintf("There is no function named %q.", call.Name)
			if s := suggest(call.Name); s != "" {
				detail += fmt.Sprintf(" Did you mean %q?", s)
			} else {
				detail += " The functions are " + strings.Join(FunctionNames(), ", ") + "."
			}
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Call to unknown function",
				Detail:   detail,
				Subject:  call.NameRange.Ptr(),
			}}
		})...)
	}
	if diags.HasErrors() {
		return nil, diags
	}

	e := &expr{field: name}
	if root, steps, text, ok := plainPath(he); ok {
		e.root, e.steps, e.text = root, steps, text
		m.addPath(e)
		return e, diags
	}
	if len(vars) == 0 {
		v, d := he.Value(&hcl.EvalContext{Functions: functions})
		diags = append(diags, d...)
		if d.HasErrors() {
			return nil, diags
		}
		g, err := fromCty(v)
		if err != nil {
			return nil, append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid " + name,
				Detail:   fmt.Sprintf("The value of %s cannot be used: %s.", name, err),
				Subject:  he.Range().Ptr(),
			})
		}
		e.isConst, e.value = true, g
		return e, diags
	}
	if p, ok := m.compilePredicate(he); ok {
		e.pred = p
		return e, diags
	}
	e.hcl = he
	for _, tr := range vars {
		if tr.RootName() == varRecord {
			m.needRecord = true
			m.recordTree.add(tr)
		}
	}
	return e, diags
}

func suggest(name string) string {
	for _, n := range FunctionNames() {
		if levenshtein.Distance(name, n, nil) < 3 {
			return n
		}
	}
	return ""
}

// line is the state of one Map call: the record and, built on first use by
// a general expression, the HCL evaluation context.
type line struct {
	m    *Mapping
	rec  parsers.Record
	vals []any // MapValues: the values at m.paths, instead of rec
	src  event.Position
	ctx  *hcl.EvalContext
	err  error
}

func (l *line) view() view {
	return view{rec: l.rec, vals: l.vals, input: l.src.Input, path: l.src.Path}
}

// evalContext returns the line's evaluation context, converting the record
// to cty the first time only.
func (l *line) evalContext() (*hcl.EvalContext, error) {
	if l.ctx != nil || l.err != nil {
		return l.ctx, l.err
	}
	vars := map[string]cty.Value{
		varInput: cty.StringVal(l.src.Input),
		varPath:  cty.StringVal(l.src.Path),
	}
	if l.m.needRecord {
		rv, err := toCty(l.rec, l.m.recordTree)
		if err != nil {
			l.err = fmt.Errorf("convert record: %w", err)
			return nil, l.err
		}
		vars[varRecord] = rv
	}
	l.ctx = &hcl.EvalContext{Variables: vars, Functions: functions}
	return l.ctx, nil
}

// The errors of a skipped line, made once: most lines of a busy log are
// skipped.
var (
	errWhenNull  = fmt.Errorf("when is null: %w", parsers.ErrSkip)
	errWhenFalse = fmt.Errorf("when is false: %w", parsers.ErrSkip)
)

// Map maps one record to an event. line is the raw line (for the derived
// event_id) and src where it was read; Event.Source is src and Event.Time is
// in UTC. Map returns an error wrapping [parsers.ErrSkip] when when is false
// or null; any other error names the attribute and why ("event_time:
// record.ts is missing") and means the line is dead-lettered. Details may
// share maps with rec.
func (m *Mapping) Map(rec parsers.Record, raw []byte, src event.Position) (event.Event, error) {
	return m.mapLine(&line{m: m, rec: rec, src: src}, raw)
}

// MapValues is [Mapping.Map] for a line decoded by paths: vals[i] is the
// value at the i-th of [Mapping.Paths] (nil when missing), as a
// [parsers.PathsFunc] gives it, and the event is the one Map gives for the
// line's whole record. It must only be called when Paths reports ok.
// Details may be a map of vals.
func (m *Mapping) MapValues(vals []any, raw []byte, src event.Position) (event.Event, error) {
	if vals == nil {
		vals = []any{} // a mapping that reads no path: still not a record
	}
	return m.mapLine(&line{m: m, vals: vals, src: src}, raw)
}

// mapLine is Map and MapValues.
func (m *Mapping) mapLine(l *line, raw []byte) (event.Event, error) {
	if !m.when.isConst || m.when.value != nil {
		w, err := m.when.eval(l)
		if err != nil {
			return event.Event{}, err
		}
		switch w := w.(type) {
		case nil:
			return event.Event{}, errWhenNull
		case bool:
			if !w {
				return event.Event{}, errWhenFalse
			}
		default:
			return event.Event{}, fmt.Errorf("when: must be a bool, got %s", describe(w))
		}
	}

	ev := event.Event{Source: l.src}
	var err error
	if ev.ID, err = m.mapID(l, raw); err != nil {
		return event.Event{}, err
	}
	if ev.Time, err = m.mapTime(l); err != nil {
		return event.Event{}, err
	}
	if ev.Name, err = m.eventName.nonEmpty(l); err != nil {
		return event.Event{}, err
	}
	if ev.Type, err = m.eventType.nonEmpty(l); err != nil {
		return event.Event{}, err
	}
	if ev.Details, err = m.mapDetails(l); err != nil {
		return event.Event{}, err
	}
	if ev.UserUID, err = m.mapUserUID(l); err != nil {
		return event.Event{}, err
	}
	return ev, nil
}

func (m *Mapping) mapID(l *line, raw []byte) (int64, error) {
	v, err := m.eventID.eval(l)
	if err != nil {
		return 0, err
	}
	if v == nil {
		return event.DeriveID(l.src.Origin, l.src.Offset, raw), nil
	}
	id, err := toInt64(v)
	if err != nil {
		return 0, fmt.Errorf("event_id: %w", err)
	}
	if id <= 0 {
		return 0, fmt.Errorf("event_id: %d is not positive", id)
	}
	return id, nil
}

func (m *Mapping) mapTime(l *line) (time.Time, error) {
	v, err := m.eventTime.eval(l)
	if err != nil {
		return time.Time{}, err
	}
	if v == nil {
		return time.Time{}, m.eventTime.nullError()
	}
	t, err := ParseTime(v, m.timeFormat, m.loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("event_time: %w", err)
	}
	return t, nil
}

func (m *Mapping) mapDetails(l *line) (map[string]any, error) {
	v, err := m.eventDetails.eval(l)
	if err != nil {
		return nil, err
	}
	switch d := v.(type) {
	case nil:
		return map[string]any{}, nil
	case map[string]any:
		return d, nil
	default:
		return nil, fmt.Errorf("event_details: must be an object, got %s", describe(v))
	}
}

func (m *Mapping) mapUserUID(l *line) (int64, error) {
	v, err := m.userUID.eval(l)
	if err != nil {
		return 0, err
	}
	if v == nil {
		return 0, m.userUID.nullError()
	}
	uid, err := toInt64(v)
	if err != nil {
		return 0, fmt.Errorf("user_uid: %w", err)
	}
	return uid, nil
}

// nonEmpty evaluates a string attribute that must not be empty.
func (e *expr) nonEmpty(l *line) (string, error) {
	v, err := e.eval(l)
	switch {
	case err != nil:
		return "", err
	case v == nil:
		return "", e.nullError()
	}
	s, ok := v.(string)
	if !ok || s == "" {
		return "", fmt.Errorf("%s: must be a non-empty string", e.field)
	}
	return s, nil
}
