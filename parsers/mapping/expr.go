package mapping

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// Variables that mapping expressions can read.
const (
	varRecord = "record" // the decoded line, a parsers.Record
	varInput  = "input"  // name of the input block, event.Position.Input
	varPath   = "path"   // path of the file, event.Position.Path
)

// expr is one compiled mapping expression. Exactly one of three forms:
// a constant (no variables; evaluated once by Compile), a plain path walked
// on the Go record, or a general expression evaluated by HCL on the record
// converted to cty.
type expr struct {
	field string // HCL attribute name, prefixes errors: "event_time: ..."

	isConst bool
	value   any // the constant's value in record form

	root  string // plain path: varRecord, varInput or varPath
	steps []step // plain path: the steps after root
	slot  int    // plain path of record: its index in Mapping.Paths
	text  string // plain path as written, for "record.ts is missing"

	hcl hcl.Expression // general expression

	pred predicate // a comparison evaluated on the Go record; see predicate
}

// step is one attribute or constant index of a plain path. name is the key
// for objects; idx, when hasIdx, the index for lists. record.a and
// record["a"] give {name: "a"}; record.l[0] and record.l["0"] give
// {name: "0", idx: 0, hasIdx: true}.
type step struct {
	name   string
	idx    int
	hasIdx bool
}

// plainPath returns the steps of e when it is a traversal of a variable with
// constant string or whole-number keys, and ok false otherwise.
func plainPath(e hcl.Expression) (root string, steps []step, text string, ok bool) {
	tr, diags := hcl.AbsTraversalForExpr(e)
	if diags.HasErrors() || len(tr) == 0 {
		return "", nil, "", false
	}
	var b strings.Builder
	root = tr.RootName()
	b.WriteString(root)
	for _, t := range tr[1:] {
		switch t := t.(type) {
		case hcl.TraverseAttr:
			steps = append(steps, keyStep(t.Name))
			b.WriteString("." + t.Name)
		case hcl.TraverseIndex:
			k := t.Key
			if k.IsNull() || !k.IsKnown() {
				return "", nil, "", false
			}
			switch k.Type() {
			case cty.String:
				steps = append(steps, keyStep(k.AsString()))
				b.WriteString("[" + strconv.Quote(k.AsString()) + "]")
			case cty.Number:
				bf := k.AsBigFloat()
				i, acc := bf.Int64()
				if !bf.IsInt() || acc != 0 || i < 0 || i > 1<<31 {
					return "", nil, "", false
				}
				s := strconv.FormatInt(i, 10)
				steps = append(steps, step{name: s, idx: int(i), hasIdx: true})
				b.WriteString("[" + s + "]")
			default:
				return "", nil, "", false
			}
		default:
			return "", nil, "", false
		}
	}
	return root, steps, b.String(), true
}

func keyStep(k string) step {
	s := step{name: k}
	if i, err := strconv.Atoi(k); err == nil && i >= 0 && strconv.Itoa(i) == k {
		s.idx, s.hasIdx = i, true
	}
	return s
}

// walk follows steps from v; a missing key, an index out of range or a step
// into a scalar gives nil, as a missing value.
func walk(v any, steps []step) any {
	for _, s := range steps {
		switch c := v.(type) {
		case map[string]any:
			v = c[s.name]
		case []any:
			if !s.hasIdx || s.idx >= len(c) {
				return nil
			}
			v = c[s.idx]
		default:
			return nil
		}
	}
	return v
}

// eval evaluates e for one line; missing reports whether a plain path found
// nothing (as opposed to an explicit null), for error messages.
func (e *expr) eval(l *line) (v any, err error) {
	switch {
	case e.isConst:
		return e.value, nil
	case e.pred != nil:
		return e.pred(l.view()), nil
	case e.hcl == nil:
		return e.path(l.view()), nil
	}
	ctx, err := l.evalContext()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.field, err)
	}
	cv, diags := e.hcl.Value(ctx)
	if diags.HasErrors() {
		return nil, fmt.Errorf("%s: %w", e.field, diags)
	}
	g, err := fromCty(cv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.field, err)
	}
	return g, nil
}

// view is what plain paths and predicates read of a line, passed by value
// so that the line does not escape to the heap through a predicate.
type view struct {
	rec         map[string]any
	vals        []any // decoded by paths (see Mapping.MapValues): rec is nil
	input, path string
}

// path returns the value of the plain path e on v: from the line's values
// when it was decoded by paths, else walked on the record.
func (e *expr) path(v view) any {
	switch e.root {
	case varRecord:
		if v.vals != nil {
			return v.vals[e.slot]
		}
		return walk(v.rec, e.steps)
	case varInput:
		return walk(v.input, e.steps)
	case varPath:
		return walk(v.path, e.steps)
	}
	return nil
}

// nullError says that e gave null where a value is required.
func (e *expr) nullError() error {
	if e.text != "" {
		return fmt.Errorf("%s: %s is missing", e.field, e.text)
	}
	return fmt.Errorf("%s: value is null", e.field)
}

// pathNode is a tree of the attribute names general expressions read from
// record; see toCty.
type pathNode struct {
	children map[string]*pathNode
}

// add records the leading constant-key steps of a traversal of record.
func (n *pathNode) add(tr hcl.Traversal) {
	for _, t := range tr[1:] {
		var k string
		switch t := t.(type) {
		case hcl.TraverseAttr:
			k = t.Name
		case hcl.TraverseIndex:
			if t.Key.IsNull() || !t.Key.IsKnown() || t.Key.Type() != cty.String {
				return
			}
			k = t.Key.AsString()
		default:
			return
		}
		if n.children == nil {
			n.children = map[string]*pathNode{}
		}
		c := n.children[k]
		if c == nil {
			c = &pathNode{}
			n.children[k] = c
		}
		n = c
	}
}
