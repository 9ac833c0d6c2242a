package mapping

import (
	"errors"
	"fmt"
	"testing"

	"github.com/auditship/auditship/parsers"
)

// TestPredicate_MatchesGeneral checks that a `when` compiled to a predicate
// decides every line as the general HCL evaluation of the same condition
// does. Wrapping the condition in tobool() keeps it general.
func TestPredicate_MatchesGeneral(t *testing.T) {
	t.Parallel()
	conds := []string{
		`record.msg == "audit"`,
		`"audit" == record.msg`,
		`record.msg != "audit"`,
		`record.msg == true`,
		`record.msg == null`,
		`!(record.msg == "audit")`,
		`record.msg == "audit" || record.msg == "other"`,
		`record.msg == "audit" && record.level != "debug"`,
		`input == "platform" && path != "/tmp/x"`,
		`record["msg"] == "audit"`,
		`record.tags[0] == "a"`,
	}
	lines := []string{
		`{"msg":"audit","level":"info","tags":["a"]}`,
		`{"msg":"audit","level":"debug"}`,
		`{"msg":"other","tags":["b"]}`,
		`{"msg":5}`,
		`{"msg":"5"}`,
		`{"msg":true}`,
		`{"msg":null}`,
		`{"level":"info"}`,
		`{"msg":{"nested":"audit"}}`,
		`{"msg":["audit"]}`,
	}
	for _, c := range conds {
		fast := compile(t, plainMapping+"\nwhen = "+c)
		if fast.when.pred == nil {
			t.Fatalf("%s: not compiled to a predicate", c)
		}
		general := compile(t, plainMapping+"\nwhen = tobool("+c+")")
		if general.when.pred != nil || general.when.hcl == nil {
			t.Fatalf("tobool(%s): not general", c)
		}
		for _, l := range lines {
			t.Run(fmt.Sprintf("%s on %s", c, l), func(t *testing.T) {
				rec := record(t, l)
				_, gErr := general.Map(rec, []byte(l), testSrc)
				_, fErr := fast.Map(rec, []byte(l), testSrc)
				if gErr != nil && !errors.Is(gErr, parsers.ErrSkip) && !isMappingErr(gErr) {
					// The general form cannot evaluate it (a missing
					// list element): under the predicate's rule the
					// missing value is null, so the line is skipped.
					if !errors.Is(fErr, parsers.ErrSkip) {
						t.Errorf("general fails (%v); predicate: %v, want skipped", gErr, fErr)
					}
					return
				}
				if errors.Is(gErr, parsers.ErrSkip) != errors.Is(fErr, parsers.ErrSkip) {
					t.Errorf("general: %v, predicate: %v", gErr, fErr)
				}
			})
		}
	}
}

// isMappingErr reports whether err comes from mapping the fields after when
// passed (the test records carry no event fields), not from when itself.
func isMappingErr(err error) bool {
	var s string
	if err != nil {
		s = err.Error()
	}
	return len(s) > 0 && s[:5] != "when:"
}

// TestPredicate_MissingIntermediateIsNull documents where the predicate is
// kinder than a general expression: a path missing at any depth is null.
func TestPredicate_MissingIntermediateIsNull(t *testing.T) {
	t.Parallel()
	m := compile(t, plainMapping+"\nwhen = record.audit.kind == \"x\"")
	_, err := m.Map(record(t, `{"msg":"request"}`), []byte("x"), testSrc)
	if !errors.Is(err, parsers.ErrSkip) {
		t.Fatalf("line without audit: %v, want skipped", err)
	}
}
