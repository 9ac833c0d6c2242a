package mapping

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// decimal is a number read from its decimal text without rounding:
// value = (-1 if neg) × digits × 10^exp, digits a string of ASCII digits
// without leading zeros ("" for zero).
type decimal struct {
	neg    bool
	digits string
	exp    int
}

// maxExp bounds the exponent of numbers we accept: every value we convert
// (ids, times) is far smaller, and a bound keeps "1e999999999" cheap.
const maxExp = 1000

// Errors of parseDecimal.
var (
	errNotNumber  = errors.New("not a number")
	errOutOfRange = errors.New("exponent out of range")
)

// parseDecimal reads JSON number syntax with an optional leading '+' or '-'
// sign: -12, 3.25, 1.7e9, 1E-3.
func parseDecimal(s string) (decimal, error) {
	var d decimal
	if s != "" && (s[0] == '-' || s[0] == '+') {
		d.neg = s[0] == '-'
		s = s[1:]
	}
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intPart := s[:i]
	if intPart == "" {
		return d, errNotNumber
	}
	s = s[i:]
	frac := ""
	if s != "" && s[0] == '.' {
		j := 1
		for j < len(s) && isDigit(s[j]) {
			j++
		}
		frac = s[1:j]
		if frac == "" {
			return d, errNotNumber
		}
		s = s[j:]
	}
	exp := 0
	if s != "" && (s[0] == 'e' || s[0] == 'E') {
		e := s[1:]
		eneg := false
		if e != "" && (e[0] == '+' || e[0] == '-') {
			eneg = e[0] == '-'
			e = e[1:]
		}
		if e == "" {
			return d, errNotNumber
		}
		for k := 0; k < len(e); k++ {
			if !isDigit(e[k]) {
				return d, errNotNumber
			}
			if exp < 10*maxExp {
				exp = exp*10 + int(e[k]-'0')
			}
		}
		if eneg {
			exp = -exp
		}
		s = ""
	}
	if s != "" {
		return d, errNotNumber
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	exp -= len(frac)
	if digits == "" {
		return decimal{}, nil
	}
	// Trailing zeros move into the exponent so that 1.50 and 15e-1 agree.
	t := strings.TrimRight(digits, "0")
	exp += len(digits) - len(t)
	d.digits = t
	d.exp = exp
	if exp > maxExp || exp < -maxExp {
		return d, errOutOfRange
	}
	return d, nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isInt reports whether d is a whole number.
func (d decimal) isInt() bool { return d.exp >= 0 }

// int64 returns d as an int64; ok is false when d is not whole or out of range.
func (d decimal) int64() (n int64, whole, inRange bool) {
	if !d.isInt() {
		return 0, false, false
	}
	if d.digits == "" {
		return 0, true, true
	}
	if len(d.digits)+d.exp > 19 {
		return 0, true, false
	}
	s := d.digits + strings.Repeat("0", d.exp)
	if d.neg {
		s = "-" + s
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, true, err == nil
}

// split returns the integer part and the fraction digits of |d| as decimal
// text; ok is false when the integer part has more than maxDigits digits.
func (d decimal) split(maxDigits int) (intPart, frac string, ok bool) {
	point := len(d.digits) + d.exp // digits before the decimal point
	switch {
	case d.digits == "":
		return "0", "", true
	case point > maxDigits:
		return "", "", false
	case d.exp >= 0:
		return d.digits + strings.Repeat("0", d.exp), "", true
	case point <= 0:
		return "0", strings.Repeat("0", -point) + d.digits, true
	default:
		return d.digits[:point], d.digits[point:], true
	}
}

// toInt64 reads an integer from a record value: a json.Number or a string in
// decimal notation, whole and within int64. It never goes through float64.
func toInt64(v any) (int64, error) {
	var s string
	quoted := false
	switch v := v.(type) {
	case json.Number:
		s = string(v)
	case string:
		s, quoted = v, true
	case int64:
		return v, nil
	case int:
		return int64(v), nil
	default:
		return 0, fmt.Errorf("%s is not an integer", describe(v))
	}
	show := s
	if quoted {
		show = strconv.Quote(s)
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	d, err := parseDecimal(s)
	if errors.Is(err, errOutOfRange) {
		return 0, fmt.Errorf("%s is out of range for a 64-bit integer", show)
	}
	if err != nil {
		return 0, fmt.Errorf("%s is not an integer", show)
	}
	n, whole, inRange := d.int64()
	switch {
	case !whole:
		return 0, fmt.Errorf("%s is not an integer", show)
	case !inRange:
		return 0, fmt.Errorf("%s is out of range for a 64-bit integer", show)
	}
	return n, nil
}

// describe renders a record value for an error message without dumping
// whole objects: they may carry secrets.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		if len(v) > 64 {
			return strconv.Quote(v[:64] + "…")
		}
		return strconv.Quote(v)
	case json.Number:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	default:
		return fmt.Sprintf("a %T", v)
	}
}

// toCty converts a record value to cty. Numbers stay exact
// (cty.ParseNumberVal on the json.Number text). Objects become cty objects;
// n, when not nil, names the attributes that expressions read at this level:
// those missing from the record are added as null, so that record.x on a
// record without x is null rather than an error, as on the plain path.
func toCty(v any, n *pathNode) (cty.Value, error) {
	switch v := v.(type) {
	case nil:
		return cty.NullVal(cty.DynamicPseudoType), nil
	case string:
		return cty.StringVal(v), nil
	case bool:
		return cty.BoolVal(v), nil
	case json.Number:
		// parseDecimal bounds the exponent: cty would parse 1e99999999, but
		// rendering it back as an integer would take minutes.
		if _, err := parseDecimal(string(v)); err != nil {
			return cty.NilVal, fmt.Errorf("number %s: %w", describe(v), err)
		}
		nv, err := cty.ParseNumberVal(string(v))
		if err != nil {
			return cty.NilVal, fmt.Errorf("number %s: %w", describe(v), err)
		}
		return nv, nil
	case int64:
		return cty.NumberIntVal(v), nil
	case int:
		return cty.NumberIntVal(int64(v)), nil
	case float64:
		return cty.NumberFloatVal(v), nil
	case []any:
		if len(v) == 0 {
			return cty.EmptyTupleVal, nil
		}
		elems := make([]cty.Value, len(v))
		for i, e := range v {
			ev, err := toCty(e, nil)
			if err != nil {
				return cty.NilVal, err
			}
			elems[i] = ev
		}
		return cty.TupleVal(elems), nil
	case map[string]any:
		var want map[string]*pathNode
		if n != nil {
			want = n.children
		}
		if len(v) == 0 && len(want) == 0 {
			return cty.EmptyObjectVal, nil
		}
		attrs := make(map[string]cty.Value, len(v)+len(want))
		for k, e := range v {
			ev, err := toCty(e, want[k])
			if err != nil {
				return cty.NilVal, err
			}
			attrs[k] = ev
		}
		for k := range want {
			if _, ok := attrs[k]; !ok {
				attrs[k] = cty.NullVal(cty.DynamicPseudoType)
			}
		}
		return cty.ObjectVal(attrs), nil
	default:
		return cty.NilVal, fmt.Errorf("unsupported record value of type %T", v)
	}
}

// fromCty converts an expression result back to the record's Go form: whole
// numbers become json.Number of their exact integer text, other numbers the
// shortest decimal text that reads back to the same cty number.
func fromCty(v cty.Value) (any, error) {
	if v.IsNull() {
		return nil, nil
	}
	if !v.IsWhollyKnown() {
		return nil, errors.New("value is unknown")
	}
	v, _ = v.Unmark()
	ty := v.Type()
	switch {
	case ty == cty.String:
		return v.AsString(), nil
	case ty == cty.Bool:
		return v.True(), nil
	case ty == cty.Number:
		return numberText(v.AsBigFloat())
	case ty.IsObjectType() || ty.IsMapType():
		m := make(map[string]any, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			g, err := fromCty(e)
			if err != nil {
				return nil, err
			}
			m[k.AsString()] = g
		}
		return m, nil
	case ty.IsTupleType() || ty.IsListType() || ty.IsSetType():
		l := make([]any, 0, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			_, e := it.Element()
			g, err := fromCty(e)
			if err != nil {
				return nil, err
			}
			l = append(l, g)
		}
		return l, nil
	default:
		return nil, fmt.Errorf("unsupported value of type %s", ty.FriendlyName())
	}
}

// maxBinaryExp bounds the magnitude of numbers numberText renders, about
// 10^±1200: beyond, decimal rendering takes time in proportion to the
// exponent.
const maxBinaryExp = 4000

// numberText renders a cty number as json.Number.
func numberText(f *big.Float) (json.Number, error) {
	if f.IsInf() {
		return "", errors.New("number is infinite")
	}
	if e := f.MantExp(nil); e > maxBinaryExp || e < -maxBinaryExp {
		return "", errors.New("number is out of range")
	}
	if f.IsInt() {
		return json.Number(f.Text('f', 0)), nil
	}
	return json.Number(f.Text('g', -1)), nil
}
