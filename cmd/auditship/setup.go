package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/auditship/auditship/outputs/elasticsearch"
)

// setupCommand installs, or checks, what the outputs need on their servers
// before the agent runs: for every elasticsearch output, the index template
// and the read alias (elasticsearch.Setup). Running it again changes nothing.
func setupCommand() *cli.Command {
	return &cli.Command{
		Name:  "setup",
		Usage: "install or check the index template and alias of every elasticsearch output",
		Description: "For every output \"elasticsearch\" block of the config, connects with its credentials,\n" +
			"installs the index template when absent and checks that an existing template and the\n" +
			"indexes behind the alias map auditship's fields compatibly. Idempotent: an existing\n" +
			"compatible template is left as it is. Exit code 0 when every output is ready, 1 when\n" +
			"one is not (unreachable, credentials refused, incompatible mapping), 2 for a config error.",
		Flags: append([]cli.Flag{
			configFlag,
			&cli.DurationFlag{Name: "timeout", Value: time.Minute, Usage: "give up on an output after this `DURATION`"},
		}, logFlags...),
		Action: func(c *cli.Context) error {
			log, err := newLogger(c, c.App.ErrWriter)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(c, c.App.ErrWriter)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			n, failed := 0, 0
			for _, oc := range cfg.Outputs {
				ec, ok := oc.Config.(*elasticsearch.Config)
				if !ok {
					continue
				}
				n++
				octx, cancel := context.WithTimeout(ctx, c.Duration("timeout"))
				err := elasticsearch.Setup(octx, *ec, log.With("output", oc.Name))
				cancel()
				if err != nil {
					failed++
					fmt.Fprintf(c.App.ErrWriter, "output %q: %s\n", oc.Name, err)
					continue
				}
				alias := ec.Alias
				if alias == "" {
					alias = ec.IndexPrefix
				}
				fmt.Fprintf(c.App.Writer, "output %q: ok: index template %q (indexes %q) and alias %q ready\n", oc.Name, ec.IndexPrefix, ec.IndexPrefix+"-*", alias)
			}
			switch {
			case failed > 0:
				return exitf(1, "setup failed for %d of %d elasticsearch output(s)", failed, n)
			case n == 0:
				fmt.Fprintf(c.App.Writer, "%s: no elasticsearch output: nothing to set up\n", relPath(cfg.Path))
			}
			return nil
		},
	}
}
