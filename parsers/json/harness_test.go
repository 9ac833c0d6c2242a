package json

import (
	"flag"
	"testing"

	"github.com/auditship/auditship/parsers"
	"github.com/auditship/auditship/parsers/internal/parsertest"
)

var update = flag.Bool("update", false, "rewrite testdata/*/want.json")

// loadConfig reads dir/config.hcl (a parser block body) over the defaults.
func loadConfig(t testing.TB, dir string) Config {
	t.Helper()
	c := DefaultConfig()
	parsertest.LoadConfig(t, dir, &c)
	return c
}

func mustNew(t testing.TB, c Config) *Decoder {
	t.Helper()
	d, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDecode_Golden(t *testing.T) {
	t.Parallel()
	parsertest.Golden(t, *update, func(t *testing.T, dir string) parsers.Decoder {
		d := mustNew(t, loadConfig(t, dir))
		return d
	})
}

var (
	splitLines = parsertest.SplitLines
	caseDirs   = parsertest.CaseDirs
	roundTrip  = parsertest.RoundTrip
)
