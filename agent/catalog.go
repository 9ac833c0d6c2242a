package agent

import (
	"fmt"
	"log/slog"

	"github.com/auditship/auditship/agent/config"
	"github.com/auditship/auditship/outputs"
	"github.com/auditship/auditship/outputs/elasticsearch"
	"github.com/auditship/auditship/outputs/file"
	"github.com/auditship/auditship/outputs/sqlite"
)

// outputFactories is the catalog of output types: the config type decoded by
// agent/config → the constructor. Constructors do no I/O; outputs that need
// it implement outputs.Opener.
var outputFactories = map[string]func(cfg any, dataDir string, log *slog.Logger) (outputs.Output, error){
	"sqlite": func(cfg any, dataDir string, log *slog.Logger) (outputs.Output, error) {
		return sqlite.New(*cfg.(*sqlite.Config), dataDir, log)
	},
	"file": func(cfg any, dataDir string, log *slog.Logger) (outputs.Output, error) {
		return file.New(*cfg.(*file.Config), dataDir, log)
	},
	"elasticsearch": func(cfg any, _ string, log *slog.Logger) (outputs.Output, error) {
		return elasticsearch.New(*cfg.(*elasticsearch.Config), log)
	},
}

// NewOutput builds the output of one output block. It does no I/O.
func NewOutput(o config.Output, dataDir string, log *slog.Logger) (outputs.Output, error) {
	f, ok := outputFactories[o.Type]
	if !ok {
		return nil, fmt.Errorf("output %q: unknown type %q", o.Name, o.Type)
	}
	out, err := f(o.Config, dataDir, log.With("output", o.Name))
	if err != nil {
		return nil, fmt.Errorf("output %q: %w", o.Name, err)
	}
	return out, nil
}
