package schema

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/zclconf/go-cty/cty"
)

// ValidationError says why an event was rejected: its details do not match
// the schema, or no schema covers its (event_name, event_type) under
// unknown_event_name = "dead_letter". The agent dead-letters the event with
// the error's text.
type ValidationError struct {
	// Path is where the problem is: "event_details.api_key_uid",
	// "event_details.tags[2]", "event_name" or "event_type".
	Path string
	// Reason says what was expected and what was found, e.g.
	// `want number, got string "abc"`. Values of sensitive attributes and
	// values that look like secrets are never quoted.
	Reason string
}

// Error returns "Path: Reason".
func (e *ValidationError) Error() string { return e.Path + ": " + e.Reason }

// kind is the kind of a compiled type node.
type kind uint8

const (
	kindAny kind = iota
	kindString
	kindNumber
	kindBool
	kindList
	kindSet
	kindMap
	kindObject
	kindTuple
)

var kindNames = [...]string{"any", "string", "number", "bool", "list", "set", "map", "object", "tuple"}

func (k kind) String() string { return kindNames[k] }

// node is a cty.Type compiled for walking Go values: no cty calls and no map
// iteration over the type on the hot path.
type node struct {
	kind      kind
	elem      *node          // list, set, map
	attrs     []attribute    // object, sorted by name
	index     map[string]int // object: name → position in attrs
	elems     []*node        // tuple
	extra     bool           // object: undeclared attributes allowed
	sensitive bool           // values here are redacted; never quote them
}

// attribute is one attribute of an object type.
type attribute struct {
	name     string
	node     *node
	optional bool
}

// compile turns a type constraint into a node tree. extra sets whether
// objects accept undeclared attributes.
func compile(ty cty.Type, extra bool) *node {
	switch {
	case ty == cty.DynamicPseudoType:
		return &node{kind: kindAny}
	case ty == cty.String:
		return &node{kind: kindString}
	case ty == cty.Number:
		return &node{kind: kindNumber}
	case ty == cty.Bool:
		return &node{kind: kindBool}
	case ty.IsListType():
		return &node{kind: kindList, elem: compile(ty.ElementType(), extra)}
	case ty.IsSetType():
		return &node{kind: kindSet, elem: compile(ty.ElementType(), extra)}
	case ty.IsMapType():
		return &node{kind: kindMap, elem: compile(ty.ElementType(), extra)}
	case ty.IsObjectType():
		n := &node{kind: kindObject, extra: extra, index: map[string]int{}}
		for name, aty := range ty.AttributeTypes() {
			a := attribute{name: name, node: compile(aty, extra), optional: ty.AttributeOptional(name)}
			if isSecretName(name) {
				markAll(a.node) // errors never quote what the detector censors whole
			}
			n.attrs = append(n.attrs, a)
		}
		slices.SortFunc(n.attrs, func(a, b attribute) int { return strings.Compare(a.name, b.name) })
		for i, a := range n.attrs {
			n.index[a.name] = i
		}
		return n
	case ty.IsTupleType():
		n := &node{kind: kindTuple}
		for _, ety := range ty.TupleElementTypes() {
			n.elems = append(n.elems, compile(ety, extra))
		}
		return n
	}
	// typeexpr produces no other types (no capsules).
	panic(fmt.Sprintf("schema: unsupported type %#v", ty))
}

// fault is a validation failure on its way up the tree: the path is
// collected in reverse while unwinding, so the success path allocates
// nothing.
type fault struct {
	rev    []string // path segments, innermost first: ".name", "[3]"
	reason string
}

func (f *fault) at(seg string) *fault {
	f.rev = append(f.rev, seg)
	return f
}

func (f *fault) err() *ValidationError {
	var b strings.Builder
	b.WriteString("event_details")
	for i := len(f.rev) - 1; i >= 0; i-- {
		b.WriteString(f.rev[i])
	}
	return &ValidationError{Path: b.String(), Reason: f.reason}
}

// check reports the first place where v does not match n, or nil. Object
// attributes are visited in name order, so the result is deterministic.
func (n *node) check(v any) *fault {
	if v == nil {
		if n.kind == kindAny {
			return nil
		}
		return n.mismatch(v)
	}
	switch n.kind {
	case kindAny:
		return nil
	case kindString:
		if _, ok := v.(string); ok {
			return nil
		}
	case kindNumber:
		if isNumber(v) {
			return nil
		}
	case kindBool:
		if _, ok := v.(bool); ok {
			return nil
		}
	case kindList, kindSet:
		l, ok := v.([]any)
		if !ok {
			break
		}
		for i, e := range l {
			if f := n.elem.check(e); f != nil {
				return f.at("[" + strconv.Itoa(i) + "]")
			}
		}
		return nil
	case kindTuple:
		l, ok := v.([]any)
		if !ok {
			break
		}
		if len(l) != len(n.elems) {
			return &fault{reason: fmt.Sprintf("want tuple of %d elements, got %d", len(n.elems), len(l))}
		}
		for i, e := range l {
			if f := n.elems[i].check(e); f != nil {
				return f.at("[" + strconv.Itoa(i) + "]")
			}
		}
		return nil
	case kindMap:
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		for _, e := range m {
			if n.elem.check(e) == nil {
				continue
			}
			// Report the first bad key in order, so the error is stable.
			for _, k := range sortedKeys(m) {
				if f := n.elem.check(m[k]); f != nil {
					return f.at(segment(k))
				}
			}
		}
		return nil
	case kindObject:
		m, ok := v.(map[string]any)
		if !ok {
			break
		}
		return n.checkObject(m, nil)
	}
	return n.mismatch(v)
}

// fetched records the attributes [node.checkObject] looked up, so that the
// secret detector can scan them without iterating the map again.
type fetched struct {
	n    int // attributes present in the map
	keys [16]string
	vals [16]any
}

// checkObject checks m against the object type n. When seen is not nil it
// records the declared attributes present in m, up to 16, in seen.
func (n *node) checkObject(m map[string]any, seen *fetched) *fault {
	for _, a := range n.attrs {
		av, present := m[a.name]
		if seen != nil && present {
			if seen.n < len(seen.keys) {
				seen.keys[seen.n], seen.vals[seen.n] = a.name, av
			}
			seen.n++
		}
		if !present || av == nil {
			if a.optional {
				continue
			}
			if !present {
				return (&fault{reason: "required attribute missing, want " + a.node.kind.String()}).at(segment(a.name))
			}
		}
		if f := a.node.check(av); f != nil {
			return f.at(segment(a.name))
		}
	}
	if n.extra || n.allDeclared(m) {
		return nil
	}
	var extra []string
	for k := range m {
		if _, ok := n.index[k]; !ok {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	return (&fault{reason: "attribute not declared in the schema (additional_attributes = false)"}).at(segment(extra[0]))
}

// allDeclared reports whether every key of m is an attribute of n.
func (n *node) allDeclared(m map[string]any) bool {
	for k := range m {
		if _, ok := n.index[k]; !ok {
			return false
		}
	}
	return true
}

func (n *node) mismatch(v any) *fault {
	return &fault{reason: "want " + n.kind.String() + ", got " + describe(v, n.sensitive)}
}

// isNumber reports whether v is a JSON number: json.Number as decoded with
// UseNumber, or a Go numeric value built by a mapping.
func isNumber(v any) bool {
	switch v.(type) {
	case json.Number, float64, float32, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return true
	}
	return false
}

// maxQuoted is how many characters of a string value an error quotes.
const maxQuoted = 32

// describe names the JSON type of v and, for scalars that are not secret,
// its value.
func describe(v any, sensitive bool) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if sensitive || looksSecret(x) {
			return fmt.Sprintf("string (%d characters, not shown)", utf8.RuneCountInString(x))
		}
		if utf8.RuneCountInString(x) > maxQuoted {
			r := []rune(x)
			return "string " + strconv.Quote(string(r[:maxQuoted])+"…")
		}
		return "string " + strconv.Quote(x)
	case bool:
		return "bool " + strconv.FormatBool(x)
	case []any:
		return "list"
	case map[string]any:
		return "object"
	}
	if isNumber(v) {
		if sensitive {
			return "number"
		}
		return fmt.Sprintf("number %v", v)
	}
	return fmt.Sprintf("unsupported Go value of type %T", v)
}

// segment renders an attribute name or map key as a path segment: ".name"
// for identifiers, `["some key"]` otherwise.
func segment(k string) string {
	if isIdentifier(k) {
		return "." + k
	}
	return "[" + strconv.Quote(k) + "]"
}

func isIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c == '-' || c >= '0' && c <= '9':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
