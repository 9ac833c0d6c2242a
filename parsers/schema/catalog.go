package schema

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/auditship/auditship/event"
)

// Catalog checks and redacts event_details by event_name and event_type.
// It is immutable after [New] and safe for concurrent use.
type Catalog struct {
	byType   map[nameType]*compiled // schemas that list their event_types
	byName   map[string]*compiled   // schemas without event_types
	typesOf  map[string][]string    // event_name → listed event_types, sorted
	lookup   map[string]*schemasOf  // byType and byName by event_name, for Apply
	accept   bool                   // unknown_event_name = "accept"
	detect   bool
	redacted atomic.Int64
}

type nameType struct{ name, typ string }

// schemasOf holds the schemas of one event_name: one map lookup by name
// and a short scan by type instead of hashing the (name, type) pair.
type schemasOf struct {
	types []typedSchema // schemas that list their event_types
	other *compiled     // the schema without event_types, if any
}

type typedSchema struct {
	typ string
	s   *compiled
}

// find returns the schema for (name, typ), or nil.
func (c *Catalog) find(name, typ string) *compiled {
	so := c.lookup[name]
	if so == nil {
		return nil
	}
	for i := range so.types {
		if so.types[i].typ == typ {
			return so.types[i].s
		}
	}
	return so.other
}

// compiled is one schema ready for Apply.
type compiled struct {
	name      string
	root      *node
	sensitive [][]string // dotted paths, split
	redact    func(string) string
}

// New builds the catalog: the built-in schemas ([Builtin]) overridden and
// extended by blocks. A block with event_types replaces the built-in schema
// of each (event_name, event_type) it lists; a block without event_types
// replaces every built-in schema of its event_name, and applies to each
// event_type no other block of the name lists. Two of the given blocks
// covering the same (event_name, event_type) are an error.
//
// New reads hmac_key_file or hmac_key_env when a schema uses redact =
// "hmac"; that is its only I/O. It collects every problem as a diagnostic
// with a Subject and returns a nil Catalog if any is an error.
func New(settings Settings, blocks []Block) (*Catalog, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	c := &Catalog{
		byType:  map[nameType]*compiled{},
		byName:  map[string]*compiled{},
		typesOf: map[string][]string{},
		lookup:  map[string]*schemasOf{},
		detect:  settings.DetectSecrets,
	}
	switch settings.UnknownEventName {
	case "", UnknownDeadLetter:
	case UnknownAccept:
		c.accept = true
	default:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid unknown_event_name",
			Detail:   fmt.Sprintf("unknown_event_name is %q; allowed values are %q and %q.", settings.UnknownEventName, UnknownDeadLetter, UnknownAccept),
			Subject:  subject(settings.UnknownEventNameRange, settings.DeclRange),
		})
	}

	builtin := Builtin()
	var usesHMAC *Block
	for _, b := range slices.Concat(builtin, blocks) {
		if b.Redact == RedactHMAC && usesHMAC == nil {
			usesHMAC = &b
		}
	}
	var hm *hmacer
	if usesHMAC != nil {
		key, keyDiags := loadHMACKey(settings, usesHMAC)
		diags = append(diags, keyDiags...)
		if len(key) > 0 {
			hm = newHMACer(key)
		}
	}

	// Built-in schemas first, then the user's, which overwrite per key; a
	// user block without event_types takes every event_type of its name
	// that no user block lists, so the built-in ones of that name go.
	for i, set := range [][]Block{builtin, blocks} {
		user := i == 1
		if user {
			for _, b := range set {
				if len(b.EventTypes) > 0 {
					continue
				}
				delete(c.byName, b.Name)
				for k := range c.byType {
					if k.name == b.Name {
						delete(c.byType, k)
					}
				}
			}
		}
		seen := map[nameType]*Block{}
		for j := range set {
			b := &set[j]
			s, bDiags := compileBlock(b, hm)
			diags = append(diags, bDiags...)
			if s == nil {
				continue
			}
			keys := []nameType{{b.Name, ""}}
			if len(b.EventTypes) > 0 {
				keys = keys[:0]
				for _, t := range b.EventTypes {
					keys = append(keys, nameType{b.Name, t})
				}
			}
			for _, k := range keys {
				if prev := seen[k]; prev != nil && user {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Duplicate schema",
						Detail:   fmt.Sprintf("A schema for event_name %q and event_type %q is already declared at %s.", k.name, displayType(k.typ), prev.DeclRange),
						Subject:  b.DeclRange.Ptr(),
					})
					continue
				}
				seen[k] = b
				if k.typ == "" {
					c.byName[k.name] = s
				} else {
					c.byType[k] = s
				}
			}
		}
	}
	for k := range c.byType {
		c.typesOf[k.name] = append(c.typesOf[k.name], k.typ)
	}
	for _, ts := range c.typesOf {
		slices.Sort(ts)
	}
	schemasFor := func(name string) *schemasOf {
		so := c.lookup[name]
		if so == nil {
			so = &schemasOf{}
			c.lookup[name] = so
		}
		return so
	}
	for k, s := range c.byType {
		so := schemasFor(k.name)
		so.types = append(so.types, typedSchema{k.typ, s})
	}
	for name, s := range c.byName {
		schemasFor(name).other = s
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return c, diags
}

func displayType(t string) string {
	if t == "" {
		return "*"
	}
	return t
}

// subject returns r, or fallback when r is unset, or nil when both are.
func subject(r, fallback hcl.Range) *hcl.Range {
	if r != (hcl.Range{}) {
		return r.Ptr()
	}
	if fallback != (hcl.Range{}) {
		return fallback.Ptr()
	}
	return nil
}

// loadHMACKey reads the HMAC key named by the settings; b is the first
// block that needs it.
func loadHMACKey(s Settings, b *Block) ([]byte, hcl.Diagnostics) {
	missing := func(detail string, r hcl.Range) hcl.Diagnostics {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Missing HMAC key",
			Detail:   detail,
			Subject:  subject(r, b.RedactRange),
		}}
	}
	switch {
	case s.HMACKeyFile != "" && s.HMACKeyEnv != "":
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Conflicting HMAC key sources",
			Detail:   fmt.Sprintf("Both hmac_key_file %q and hmac_key_env %q are set; set only one.", s.HMACKeyFile, s.HMACKeyEnv),
			Subject:  subject(s.HMACKeyEnvRange, s.DeclRange),
		}}
	case s.HMACKeyFile != "":
		key, err := os.ReadFile(s.HMACKeyFile)
		if err != nil {
			return nil, missing(fmt.Sprintf("Reading hmac_key_file %q: %s.", s.HMACKeyFile, err), s.HMACKeyFileRange)
		}
		key = bytes.TrimSuffix(bytes.TrimSuffix(key, []byte("\n")), []byte("\r"))
		if len(key) == 0 {
			return nil, missing(fmt.Sprintf("The hmac_key_file %q is empty.", s.HMACKeyFile), s.HMACKeyFileRange)
		}
		return key, nil
	case s.HMACKeyEnv != "":
		key := os.Getenv(s.HMACKeyEnv)
		if key == "" {
			return nil, missing(fmt.Sprintf("The environment variable %q named by hmac_key_env is unset or empty.", s.HMACKeyEnv), s.HMACKeyEnvRange)
		}
		return []byte(key), nil
	}
	return nil, missing(fmt.Sprintf("Schema %q uses redact = %q but the schemas block sets neither hmac_key_file nor hmac_key_env.", b.Name, RedactHMAC), hcl.Range{})
}

// compileBlock checks one block and compiles it; nil when it has errors.
func compileBlock(b *Block, hm *hmacer) (*compiled, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	if b.Details == nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Missing details",
			Detail:   fmt.Sprintf("Schema %q has no details type expression.", b.Name),
			Subject:  b.DeclRange.Ptr(),
		}}
	}
	ty, tyDiags := typeexpr.TypeConstraint(b.Details)
	diags = append(diags, tyDiags...)

	s := &compiled{name: b.Name, redact: Censor}
	switch b.Redact {
	case "", RedactCensor:
	case RedactHMAC:
		if hm != nil {
			s.redact = hm.sum
		}
	default:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid redact",
			Detail:   fmt.Sprintf("Schema %q has redact = %q; allowed values are %q and %q.", b.Name, b.Redact, RedactCensor, RedactHMAC),
			Subject:  subject(b.RedactRange, b.DeclRange),
		})
	}
	for i, t := range b.EventTypes {
		if t == "" || slices.Contains(b.EventTypes[:i], t) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid event_types",
				Detail:   fmt.Sprintf("Schema %q lists event_type %q more than once or empty.", b.Name, t),
				Subject:  subject(b.EventTypesRange, b.DeclRange),
			})
		}
	}
	if tyDiags.HasErrors() {
		return nil, diags
	}

	extra := b.AdditionalAttributes == nil || *b.AdditionalAttributes
	s.root = compile(ty, extra)
	paths, pDiags := sensitivePaths(b, ty)
	diags = append(diags, pDiags...)
	for _, p := range paths {
		s.sensitive = append(s.sensitive, p)
		markSensitive(s.root, p)
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return s, diags
}

// sensitivePaths evaluates the sensitive attribute and checks every path
// against the details type.
func sensitivePaths(b *Block, ty cty.Type) ([][]string, hcl.Diagnostics) {
	if b.Sensitive == nil {
		return nil, nil
	}
	v, diags := b.Sensitive.Value(nil)
	if diags.HasErrors() {
		return nil, diags
	}
	if v.IsNull() {
		return nil, nil
	}
	bad := func(detail string, r hcl.Range) hcl.Diagnostics {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid sensitive path",
			Detail:   detail,
			Subject:  r.Ptr(),
		}}
	}
	lv, err := convert.Convert(v, cty.List(cty.String))
	if err != nil || !lv.IsWhollyKnown() {
		return nil, bad(fmt.Sprintf("Schema %q: sensitive must be a list of dotted attribute paths.", b.Name), b.Sensitive.Range())
	}
	// Element ranges, when the list is written literally.
	var ranges []hcl.Range
	if exprs, d := hcl.ExprList(b.Sensitive); !d.HasErrors() {
		for _, e := range exprs {
			ranges = append(ranges, e.Range())
		}
	}
	var paths [][]string
	for i, ev := range lv.AsValueSlice() {
		r := b.Sensitive.Range()
		if i < len(ranges) {
			r = ranges[i]
		}
		if ev.IsNull() || ev.AsString() == "" {
			diags = append(diags, bad(fmt.Sprintf("Schema %q: a sensitive path is empty.", b.Name), r)...)
			continue
		}
		p := ev.AsString()
		segs := strings.Split(p, ".")
		if why := resolvePath(ty, segs); why != "" {
			diags = append(diags, bad(fmt.Sprintf("Schema %q: sensitive path %q %s.", b.Name, p, why), r)...)
			continue
		}
		paths = append(paths, segs)
	}
	return paths, diags
}

// resolvePath returns why segs does not name a value of ty, or "".
// Lists, sets and tuples are passed through; a map's key is any segment.
func resolvePath(ty cty.Type, segs []string) string {
	for i, seg := range segs {
		for ty.IsListType() || ty.IsSetType() {
			ty = ty.ElementType()
		}
		switch {
		case seg == "":
			return "has an empty segment"
		case ty == cty.DynamicPseudoType:
			return ""
		case ty.IsMapType():
			ty = ty.ElementType()
		case ty.IsObjectType():
			if !ty.HasAttribute(seg) {
				return fmt.Sprintf("is not in the details type: %q has no attribute %q", strings.Join(append([]string{"event_details"}, segs[:i]...), "."), seg)
			}
			ty = ty.AttributeType(seg)
		case ty.IsTupleType():
			for _, ety := range ty.TupleElementTypes() {
				if resolvePath(ety, segs[i:]) == "" {
					return ""
				}
			}
			return fmt.Sprintf("is not in the details type: no element of the tuple at %q has attribute %q", strings.Join(append([]string{"event_details"}, segs[:i]...), "."), seg)
		default:
			return fmt.Sprintf("is not in the details type: %q is a %s", strings.Join(append([]string{"event_details"}, segs[:i]...), "."), typeexpr.TypeString(ty))
		}
	}
	return ""
}

// markSensitive flags the nodes at path and below so that errors never
// quote their values.
func markSensitive(n *node, path []string) {
	for n.kind == kindList || n.kind == kindSet {
		n = n.elem
	}
	if len(path) == 0 {
		markAll(n)
		return
	}
	switch n.kind {
	case kindMap:
		markSensitive(n.elem, path[1:])
	case kindObject:
		if i, ok := n.index[path[0]]; ok {
			markSensitive(n.attrs[i].node, path[1:])
		}
	case kindTuple:
		for _, e := range n.elems {
			markSensitive(e, path)
		}
	}
}

func markAll(n *node) {
	n.sensitive = true
	if n.elem != nil {
		markAll(n.elem)
	}
	for _, a := range n.attrs {
		markAll(a.node)
	}
	for _, e := range n.elems {
		markAll(e)
	}
}

// Apply checks e.Details against the schema for (e.Name, e.Type) and
// redacts it in place: sensitive attributes first, then, when
// detect_secrets is on, secrets found anywhere else. A nil Details is
// checked as an empty object and left nil.
//
// It returns a *[ValidationError] when the details do not match, or when no
// schema covers the event and unknown_event_name is "dead_letter".
// Redaction runs even then, so whatever the caller keeps of a rejected
// event is redacted too. Apply does no I/O and is safe for concurrent use;
// concurrent calls must not share an Event.
func (c *Catalog) Apply(e *event.Event) error {
	s := c.find(e.Name, e.Type)
	var verr *ValidationError
	switch {
	case s != nil && e.Details == nil:
		if f := s.root.check(map[string]any{}); f != nil {
			verr = f.err()
		}
	case s != nil:
		var f *fault
		if c.detect && len(s.sensitive) == 0 && s.root.kind == kindObject {
			var seen fetched
			f = s.root.checkObject(e.Details, &seen)
			if f == nil && seen.n == len(e.Details) && seen.n <= len(seen.keys) {
				// The check fetched every attribute and there is nothing
				// to redact by path: scan those values for secrets rather
				// than iterating the map again.
				hits := 0
				for i := range seen.n {
					hits += scrubEntry(e.Details, seen.keys[i], seen.vals[i])
				}
				if hits > 0 {
					c.redacted.Add(int64(hits))
				}
				return nil
			}
		} else {
			f = s.root.check(e.Details)
		}
		if f != nil {
			verr = f.err()
		}
		for _, p := range s.sensitive {
			redactPath(e.Details, p, s.redact)
		}
	case c.accept:
	case len(c.typesOf[e.Name]) > 0:
		verr = &ValidationError{Path: "event_type", Reason: fmt.Sprintf("no schema for event_type %q of event_name %q (declared: %s)", e.Type, e.Name, strings.Join(c.typesOf[e.Name], ", "))}
	default:
		verr = &ValidationError{Path: "event_name", Reason: fmt.Sprintf("no schema for event_name %q", e.Name)}
	}
	if c.detect && e.Details != nil {
		if n := scrubMap(e.Details); n > 0 {
			c.redacted.Add(int64(n))
		}
	}
	if verr != nil {
		return verr
	}
	return nil
}

// Redacted returns how many secrets the detector has censored since [New]
// (values at declared sensitive paths are not counted).
func (c *Catalog) Redacted() int64 { return c.redacted.Load() }

// Covers reports whether some schema applies to (name, typ).
func (c *Catalog) Covers(name, typ string) bool {
	return c.find(name, typ) != nil
}
