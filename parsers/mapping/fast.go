package mapping

import (
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

// A predicate is the compiled form of the conditions `when` is usually made
// of: a plain path compared with a string, bool or null literal (== or !=),
// and !, && and || over such comparisons. It is evaluated on the Go record
// without converting the record to cty, which is most of the cost of a
// general expression. It follows the plain-path rule: a path that is missing
// at any depth is null, so `record.audit.kind == "x"` is false, not an
// error, on a line without audit.
type predicate func(v view) bool

// compilePredicate returns the predicate of e, or ok false when e is not of
// that form and must be evaluated as a general expression. The record paths
// it reads are added to m's paths.
func (m *Mapping) compilePredicate(e hcl.Expression) (p predicate, ok bool) {
	switch e := e.(type) {
	case *hclsyntax.ParenthesesExpr:
		return m.compilePredicate(e.Expression)
	case *hclsyntax.UnaryOpExpr:
		if e.Op != hclsyntax.OpLogicalNot {
			return nil, false
		}
		inner, ok := m.compilePredicate(e.Val)
		if !ok {
			return nil, false
		}
		return func(v view) bool { return !inner(v) }, true
	case *hclsyntax.BinaryOpExpr:
		switch e.Op {
		case hclsyntax.OpLogicalAnd, hclsyntax.OpLogicalOr:
			a, okA := m.compilePredicate(e.LHS)
			b, okB := m.compilePredicate(e.RHS)
			if !okA || !okB {
				return nil, false
			}
			if e.Op == hclsyntax.OpLogicalAnd {
				return func(v view) bool { return a(v) && b(v) }, true
			}
			return func(v view) bool { return a(v) || b(v) }, true
		case hclsyntax.OpEqual, hclsyntax.OpNotEqual:
			eq, ok := m.compileEquality(e.LHS, e.RHS)
			if !ok {
				eq, ok = m.compileEquality(e.RHS, e.LHS)
			}
			if !ok {
				return nil, false
			}
			if e.Op == hclsyntax.OpNotEqual {
				return func(v view) bool { return !eq(v) }, true
			}
			return eq, true
		}
	}
	return nil, false
}

// compileEquality compiles `path == literal`.
func (m *Mapping) compileEquality(pathExpr, litExpr hcl.Expression) (predicate, bool) {
	root, steps, _, ok := plainPath(pathExpr)
	if !ok || len(litExpr.Variables()) > 0 {
		return nil, false
	}
	lit, diags := litExpr.Value(nil)
	if diags.HasErrors() || !lit.IsKnown() {
		return nil, false
	}
	p := &expr{root: root, steps: steps}
	m.addPath(p)
	switch {
	case lit.IsNull():
		return func(v view) bool { return p.path(v) == nil }, true
	case lit.Type() == cty.String:
		s := lit.AsString()
		return func(v view) bool { x, ok := p.path(v).(string); return ok && x == s }, true
	case lit.Type() == cty.Bool:
		b := lit.True()
		return func(v view) bool { x, ok := p.path(v).(bool); return ok && x == b }, true
	}
	return nil, false
}
