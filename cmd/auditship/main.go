// Command auditship tails structured platform logs, turns audit lines into
// audit events, ships them to an embedded store or Elasticsearch, and serves
// them at GET /audit-logs.
//
// Exit codes: 0 ok, 1 runtime failure, 2 usage or config error, 3 (agent
// --once) finished but some lines were dead-lettered.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/auditship/auditship/agent"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries an exit code through cli's error path.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitf(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

func main() {
	agent.TuneGC() // GOGC 200 and GOMEMLIMIT 28 MiB unless the environment sets them; docs/configuration.md
	os.Exit(run(os.Args, os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	app := newApp(stdout, stderr)
	err := app.Run(args)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintf(stderr, "auditship: %s\n", ee.err)
		}
		return ee.code
	}
	fmt.Fprintf(stderr, "auditship: %s\n", err)
	return 2 // errors cli returns itself are usage errors
}

var configFlag = &cli.StringFlag{
	Name:    "config",
	Aliases: []string{"c"},
	Value:   "agent.hcl",
	Usage:   "path of the agent configuration `FILE`",
	EnvVars: []string{"AUDITSHIP_CONFIG"},
}

var logFlags = []cli.Flag{
	&cli.StringFlag{Name: "log-level", Value: "info", Usage: "debug, info, warn or error"},
	&cli.StringFlag{Name: "log-format", Value: "auto", Usage: "text, json, or auto (text on a terminal, JSON otherwise)"},
}

func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:      "auditship",
		Usage:     "ship audit events from structured logs to an audit index, exactly once",
		Version:   version,
		Writer:    stdout,
		ErrWriter: stderr,
		// Exit codes are ours; cli must not call os.Exit.
		ExitErrHandler: func(*cli.Context, error) {},
		// Repeated flags (--event-name a --event-name b) mean OR; a comma is
		// part of a value, never a separator.
		DisableSliceFlagSeparator: true,
		Commands: []*cli.Command{
			agentCommand(),
			queryCommand(),
			validateCommand(),
			deadletterCommand(),
			keygenCommand(),
			setupCommand(),
			{
				Name:  "version",
				Usage: "print the version",
				Action: func(c *cli.Context) error {
					fmt.Fprintf(c.App.Writer, "auditship %s\n", version)
					return nil
				},
			},
		},
	}
}

// newLogger builds the process logger from the log flags.
func newLogger(c *cli.Context, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.String("log-level"))); err != nil {
		return nil, exitf(2, "invalid --log-level %q: use debug, info, warn or error", c.String("log-level"))
	}
	opts := &slog.HandlerOptions{Level: level}
	format := c.String("log-format")
	if format == "auto" {
		format = "json"
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			format = "text"
		}
	}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, exitf(2, "invalid --log-format %q: use text, json or auto", format)
}

// signalContext ends on the first SIGINT or SIGTERM; a second one exits the
// process at once with status 1.
func signalContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ch
		cancel()
		<-ch
		os.Exit(1)
	}()
	return ctx, func() { signal.Stop(ch); cancel() }
}
