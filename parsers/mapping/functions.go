package mapping

import (
	"fmt"
	"slices"

	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// functions is the function library of mapping expressions. Every entry but
// length comes unchanged from cty's function/stdlib or HCL's tryfunc, so the
// functions behave as in Terraform and other HCL tools.
var functions = map[string]function.Function{
	"can":           tryfunc.CanFunc,
	"coalesce":      stdlib.CoalesceFunc,
	"contains":      stdlib.ContainsFunc,
	"format":        stdlib.FormatFunc,
	"join":          stdlib.JoinFunc,
	"jsondecode":    stdlib.JSONDecodeFunc,
	"jsonencode":    stdlib.JSONEncodeFunc,
	"keys":          stdlib.KeysFunc,
	"length":        lengthFunc,
	"lookup":        stdlib.LookupFunc,
	"lower":         stdlib.LowerFunc,
	"merge":         stdlib.MergeFunc,
	"regex":         stdlib.RegexFunc,
	"regex_replace": stdlib.RegexReplaceFunc,
	"regexreplace":  stdlib.RegexReplaceFunc,
	"replace":       stdlib.ReplaceFunc,
	"split":         stdlib.SplitFunc,
	"substr":        stdlib.SubstrFunc,
	"tobool":        stdlib.MakeToFunc(cty.Bool),
	"tonumber":      stdlib.MakeToFunc(cty.Number),
	"tostring":      stdlib.MakeToFunc(cty.String),
	"trimspace":     stdlib.TrimSpaceFunc,
	"try":           tryfunc.TryFunc,
	"upper":         stdlib.UpperFunc,
}

// FunctionNames returns the names of the functions a mapping expression can
// call, sorted.
func FunctionNames() []string {
	names := make([]string, 0, len(functions))
	for n := range functions {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// lengthFunc is stdlib.LengthFunc extended to strings (counted in Unicode
// grapheme clusters, as stdlib's strlen does): record fields are often
// strings, and length(record.x) on one should not need a second function.
var lengthFunc = function.New(&function.Spec{
	Description: "Returns the number of elements of a list, map or object, or the number of characters of a string.",
	Params: []function.Parameter{{
		Name:             "value",
		Type:             cty.DynamicPseudoType,
		AllowDynamicType: true,
		AllowUnknown:     true,
	}},
	Type: function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v := args[0]
		if !v.IsKnown() {
			return cty.UnknownVal(cty.Number), nil
		}
		ty := v.Type()
		switch {
		case ty == cty.String:
			return stdlib.Strlen(v)
		case ty.IsObjectType():
			return cty.NumberIntVal(int64(len(ty.AttributeTypes()))), nil
		case ty.IsTupleType() || ty.IsListType() || ty.IsMapType() || ty.IsSetType():
			return v.Length(), nil
		default:
			return cty.NilVal, fmt.Errorf("value must be a string, a list, a map or an object, not %s", ty.FriendlyName())
		}
	},
})
