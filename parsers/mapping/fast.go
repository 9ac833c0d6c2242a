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
type predicate func(rec map[string]any, input, path string) bool

// compilePredicate returns the predicate of e, or ok false when e is not of
// that form and must be evaluated as a general expression.
func compilePredicate(e hcl.Expression) (p predicate, ok bool) {
	switch e := e.(type) {
	case *hclsyntax.ParenthesesExpr:
		return compilePredicate(e.Expression)
	case *hclsyntax.UnaryOpExpr:
		if e.Op != hclsyntax.OpLogicalNot {
			return nil, false
		}
		inner, ok := compilePredicate(e.Val)
		if !ok {
			return nil, false
		}
		return func(r map[string]any, i, p string) bool { return !inner(r, i, p) }, true
	case *hclsyntax.BinaryOpExpr:
		switch e.Op {
		case hclsyntax.OpLogicalAnd, hclsyntax.OpLogicalOr:
			a, okA := compilePredicate(e.LHS)
			b, okB := compilePredicate(e.RHS)
			if !okA || !okB {
				return nil, false
			}
			if e.Op == hclsyntax.OpLogicalAnd {
				return func(r map[string]any, i, p string) bool { return a(r, i, p) && b(r, i, p) }, true
			}
			return func(r map[string]any, i, p string) bool { return a(r, i, p) || b(r, i, p) }, true
		case hclsyntax.OpEqual, hclsyntax.OpNotEqual:
			eq, ok := compileEquality(e.LHS, e.RHS)
			if !ok {
				eq, ok = compileEquality(e.RHS, e.LHS)
			}
			if !ok {
				return nil, false
			}
			if e.Op == hclsyntax.OpNotEqual {
				return func(r map[string]any, i, p string) bool { return !eq(r, i, p) }, true
			}
			return eq, true
		}
	}
	return nil, false
}

// compileEquality compiles `path == literal`.
func compileEquality(pathExpr, litExpr hcl.Expression) (predicate, bool) {
	root, steps, _, ok := plainPath(pathExpr)
	if !ok || len(litExpr.Variables()) > 0 {
		return nil, false
	}
	lit, diags := litExpr.Value(nil)
	if diags.HasErrors() || !lit.IsKnown() {
		return nil, false
	}
	get := func(rec map[string]any, input, path string) any {
		switch root {
		case varRecord:
			return walk(rec, steps)
		case varInput:
			return walk(input, steps)
		case varPath:
			return walk(path, steps)
		}
		return nil
	}
	switch {
	case lit.IsNull():
		return func(r map[string]any, i, p string) bool { return get(r, i, p) == nil }, true
	case lit.Type() == cty.String:
		s := lit.AsString()
		return func(r map[string]any, i, p string) bool { v, ok := get(r, i, p).(string); return ok && v == s }, true
	case lit.Type() == cty.Bool:
		b := lit.True()
		return func(r map[string]any, i, p string) bool { v, ok := get(r, i, p).(bool); return ok && v == b }, true
	}
	return nil, false
}
