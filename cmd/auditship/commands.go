package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/urfave/cli/v2"

	"github.com/auditship/auditship/agent"
	"github.com/auditship/auditship/agent/config"
	"github.com/auditship/auditship/agent/deadletter"
	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
	"github.com/auditship/auditship/query"
)

// loadConfig loads the --config file, printing diagnostics to w; config
// errors are exit code 2.
func loadConfig(c *cli.Context, w io.Writer) (*config.Config, error) {
	cfg, files, diags := config.Load(c.String("config"))
	printDiagnostics(w, files, diags)
	if diags.HasErrors() {
		return nil, exitf(2, "%s: configuration has %d error(s)", c.String("config"), countErrors(diags))
	}
	return cfg, nil
}

// printDiagnostics writes one `file:line:col: summary: detail` line per
// diagnostic, then HCL's rendering with the source snippet.
func printDiagnostics(w io.Writer, files config.Files, diags hcl.Diagnostics) {
	if len(diags) == 0 {
		return
	}
	for _, d := range diags {
		sev := "error"
		if d.Severity == hcl.DiagWarning {
			sev = "warning"
		}
		loc := "config"
		if d.Subject != nil {
			loc = fmt.Sprintf("%s:%d:%d", relPath(d.Subject.Filename), d.Subject.Start.Line, d.Subject.Start.Column)
		}
		fmt.Fprintf(w, "%s: %s: %s: %s\n", loc, sev, d.Summary, d.Detail)
	}
	fmt.Fprintln(w)
	tw := hcl.NewDiagnosticTextWriter(w, maskFiles(files), 100, false)
	_ = tw.WriteDiagnostics(diags)
}

// Secrets a config's source can hold in clear: the password of a URL's
// user info, and string attributes named like a secret.
var (
	urlPassword = regexp.MustCompile(`(?i)\b[a-z][a-z0-9+.-]*://[^:/@\s"]*:([^@/\s"]+)@`)
	secretAttr  = regexp.MustCompile(`(?i)\b[a-z_]*(?:password|secret|token|api_key)[a-z_]*\s*=\s*"([^"]*)"`)
)

// maskFiles returns copies of files whose secrets (see urlPassword and
// secretAttr) are replaced by as many 'x': the source lines under a
// diagnostic, which go to the log on a reload, show none of them, and
// byte offsets stay valid.
func maskFiles(files config.Files) config.Files {
	out := make(config.Files, len(files))
	for name, f := range files {
		b := bytes.Clone(f.Bytes)
		for _, re := range []*regexp.Regexp{urlPassword, secretAttr} {
			for _, m := range re.FindAllSubmatchIndex(b, -1) {
				for i := m[2]; i < m[3]; i++ {
					b[i] = 'x'
				}
			}
		}
		c := *f
		c.Bytes = b
		out[name] = &c
	}
	return out
}

func relPath(p string) string {
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	if r, err := filepath.Rel(wd, p); err == nil && !filepath.IsAbs(r) && len(r) < len(p) {
		return r
	}
	return p
}

func countErrors(diags hcl.Diagnostics) int {
	n := 0
	for _, d := range diags {
		if d.Severity == hcl.DiagError {
			n++
		}
	}
	return n
}

func agentCommand() *cli.Command {
	return &cli.Command{
		Name:  "agent",
		Usage: "run the agent: tail the inputs, ship audit events, serve the query API",
		Description: "Runs until SIGINT or SIGTERM (a second signal exits at once); SIGHUP reloads the\n" +
			"config file (an invalid one is logged and the running config kept). With --once it reads\n" +
			"every matched file to its current end, ships, saves offsets and exits: exit code 0 when\n" +
			"everything was stored, 3 when some lines went to the dead-letter file; on a terminal it\n" +
			"shows a progress bar on standard error.",
		Flags: append([]cli.Flag{
			configFlag,
			&cli.BoolFlag{Name: "once", Usage: "read every matched file to its end, ship, save offsets and exit (backfill)"},
		}, logFlags...),
		Action: func(c *cli.Context) error {
			// Signals first: a SIGTERM while the config loads must still
			// stop the agent cleanly, not kill it.
			ctx, stop := signalContext()
			defer stop()
			log, err := newLogger(c, c.App.ErrWriter)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(c, c.App.ErrWriter)
			if err != nil {
				return err
			}
			if err := checkHost(cfg); err != nil {
				return exitf(2, "%w", err)
			}
			a, err := agent.New(cfg, log, agent.Options{
				Once:          c.Bool("once"),
				SuperadminKey: os.Getenv("AUDITSHIP_SUPERADMIN_KEY"),
				KeyNotice:     keyNotice(c.App.ErrWriter, log),
				Ready: func(addr string) {
					log.Info("query API listening", "address", addr)
				},
			})
			if err != nil {
				return exitf(1, "%w", err)
			}
			log.Info("agent starting", "config", cfg.Path, "data_dir", cfg.DataDir, "inputs", len(cfg.Inputs), "outputs", len(cfg.Outputs))
			if c.Bool("once") {
				defer showProgress(c.App.ErrWriter, a)()
			} else {
				defer reloadOnHUP(ctx, cfg.Path, a, log)()
			}
			if err := a.Run(ctx); err != nil {
				return exitf(1, "%w", err)
			}
			if c.Bool("once") && a.Stats().DeadLettered.Load() > 0 {
				return exitf(3, "%d line(s) dead-lettered; see %s", a.Stats().DeadLettered.Load(), cfg.DeadLetter.Path)
			}
			return nil
		},
	}
}

func queryCommand() *cli.Command {
	return &cli.Command{
		Name:  "query",
		Usage: "serve GET /audit-logs from the configured index, without running the agent",
		Description: "Serves the query API of the config's query block from the output it names\n" +
			"(by default the first output). The agent can serve the same API itself.\n" +
			"auditship query search prints events from that output without the API.",
		Flags:       append([]cli.Flag{configFlag}, logFlags...),
		Subcommands: []*cli.Command{searchCommand()},
		Action: func(c *cli.Context) error {
			log, err := newLogger(c, c.App.ErrWriter)
			if err != nil {
				return err
			}
			cfg, err := loadConfig(c, c.App.ErrWriter)
			if err != nil {
				return err
			}
			if cfg.Query == nil {
				return exitf(2, "%s has no query block: add query { listen = \"127.0.0.1:8080\" }", cfg.Path)
			}
			if err := checkHost(cfg); err != nil {
				return exitf(2, "%w", err)
			}
			ctx, stop := signalContext()
			defer stop()
			o, s, closeFn, err := openSearcher(ctx, cfg, log)
			if err != nil {
				return exitf(1, "%w", err)
			}
			defer closeFn()
			key, err := agent.SuperadminKey(cfg.DataDir, os.Getenv("AUDITSHIP_SUPERADMIN_KEY"), keyNotice(c.App.ErrWriter, log))
			if err != nil {
				return exitf(1, "%w", err)
			}
			srv, err := query.New(*cfg.Query, s, query.Options{SuperadminKey: key, Log: log, OnRead: auditReads(cfg, o)})
			if err != nil {
				return exitf(1, "%w", err)
			}
			go func() {
				select {
				case <-srv.Ready():
					log.Info("query API listening", "address", srv.Addr())
				case <-ctx.Done():
				}
			}()
			if err := srv.Run(ctx); err != nil {
				return exitf(1, "%w", err)
			}
			return nil
		},
	}
}

// auditReads stores the audit_log/read event of each read served by
// `auditship query` in the output it reads from, before the read is served,
// as the agent does for the reads it serves.
func auditReads(cfg *config.Config, o outputs.Output) func(context.Context, event.Event) error {
	var mu sync.Mutex // an Output's Write is never called concurrently
	return func(ctx context.Context, e event.Event) error {
		if err := cfg.Schemas.Apply(&e); err != nil {
			return fmt.Errorf("audit event of a read: %w", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if err := o.Write(ctx, []event.Event{e}); err != nil {
			return fmt.Errorf("store audit event of a read: %w", err)
		}
		return nil
	}
}

// openSearcher opens the output the query block reads from; log receives
// the output's messages.
func openSearcher(ctx context.Context, cfg *config.Config, log *slog.Logger) (outputs.Output, outputs.Searcher, func(), error) {
	for _, oc := range cfg.Outputs {
		if oc.Name != cfg.QueryFrom {
			continue
		}
		if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
			return nil, nil, nil, fmt.Errorf("create data_dir: %w", err)
		}
		o, err := agent.NewOutput(oc, cfg.DataDir, log)
		if err != nil {
			return nil, nil, nil, err
		}
		if op, ok := o.(outputs.Opener); ok {
			if err := op.Open(ctx); err != nil {
				return nil, nil, nil, fmt.Errorf("open output %q: %w", oc.Name, err)
			}
		}
		s, ok := o.(outputs.Searcher)
		if !ok {
			return nil, nil, nil, fmt.Errorf("output %q (%s) cannot serve queries", oc.Name, oc.Type)
		}
		return o, s, func() { _ = o.Close(context.Background()) }, nil
	}
	return nil, nil, nil, fmt.Errorf("no output named %q", cfg.QueryFrom)
}

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check a configuration file and print its errors as file:line:col",
		ArgsUsage: " ",
		Description: "With --sample LOGFILE (repeatable), each line of each file then goes through the\n" +
			"pipeline of the input whose paths match the file (else the first input, or --input NAME):\n" +
			"parser, mapping, schema. One line is printed per log line, FILE:LINE: event {json},\n" +
			"FILE:LINE: skipped or FILE:LINE: dead-letter: REASON (the reason the agent would write),\n" +
			"then a summary. Nothing is stored. Exit codes: 0 ok, 1 a sample cannot be read,\n" +
			"2 configuration error, 3 some sample line would be dead-lettered.",
		Flags: []cli.Flag{
			configFlag,
			&cli.StringSliceFlag{Name: "sample", Usage: "run each line of log `FILE` through the pipeline (repeatable)"},
			&cli.StringFlag{Name: "input", Usage: "check the samples with the input block `NAME` instead of the one whose paths match"},
		},
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c, c.App.ErrWriter)
			if err != nil {
				return err
			}
			if err := checkHost(cfg); err != nil {
				return exitf(2, "%s: %w", relPath(cfg.Path), err)
			}
			fmt.Fprintf(c.App.Writer, "%s: ok (%d input(s), %d output(s))\n", relPath(cfg.Path), len(cfg.Inputs), len(cfg.Outputs))
			samples := c.StringSlice("sample")
			if len(samples) == 0 {
				return nil
			}
			if name := c.String("input"); name != "" && !slices.ContainsFunc(cfg.Inputs, func(in config.Input) bool { return in.Name == name }) {
				return exitf(2, "--input: no input named %q in %s", name, relPath(cfg.Path))
			}
			var st sampleStats
			for _, s := range samples {
				if err := checkSample(c.App.Writer, cfg, s, c.String("input"), &st); err != nil {
					return exitf(1, "%w", err)
				}
			}
			fmt.Fprintf(c.App.Writer, "%d event(s), %d skipped, %d dead-lettered\n", st.events, st.skipped, st.deadLettered)
			if st.deadLettered > 0 {
				return exitf(3, "%d sample line(s) would be dead-lettered", st.deadLettered)
			}
			return nil
		},
	}
}

func deadletterCommand() *cli.Command {
	return &cli.Command{
		Name:  "deadletter",
		Usage: "inspect the dead-letter file, or replay it through a fixed config",
		Subcommands: []*cli.Command{{
			Name:  "list",
			Usage: "print the dead-lettered lines: source, offset and reason",
			Flags: []cli.Flag{configFlag},
			Action: func(c *cli.Context) error {
				cfg, err := loadConfig(c, c.App.ErrWriter)
				if err != nil {
					return err
				}
				// Oldest first: the rotated files (path.N ... path.1), then path.
				total, rotated := 0, 0
				for i := cfg.DeadLetter.MaxFiles; i >= 0; i-- {
					name := cfg.DeadLetter.Path
					if i > 0 {
						name = fmt.Sprintf("%s.%d", name, i)
					}
					recs, err := deadletter.ReadFile(name)
					var torn *deadletter.TornError
					if errors.As(err, &torn) {
						fmt.Fprintf(c.App.ErrWriter, "warning: %v: left out (the agent cuts it off at start; its line is read again)\n", err)
					} else if err != nil {
						return exitf(1, "%w", err)
					}
					for _, r := range recs {
						fmt.Fprintf(c.App.Writer, "%s\t%s:%d\t%s\n", r.Time.Format("2006-01-02T15:04:05Z"), r.Path, r.Offset, r.Reason)
					}
					total += len(recs)
					if i > 0 {
						rotated += len(recs)
					}
				}
				fmt.Fprintf(c.App.ErrWriter, "%d record(s) in %s (%d of them in its rotated files .1 to .%d)\n", total, cfg.DeadLetter.Path, rotated, cfg.DeadLetter.MaxFiles)
				return nil
			},
		}, replayCommand()},
	}
}

func keygenCommand() *cli.Command {
	return &cli.Command{
		Name:  "keygen",
		Usage: "print a new random API key and the HCL block that grants it a role",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "role", Value: "superadmin", Usage: "role of the key (superadmin may read /audit-logs)"},
			&cli.StringFlag{Name: "name", Value: "ops", Usage: "name of the key, recorded in audits of reads"},
		},
		Action: func(c *cli.Context) error {
			// Refuse what the query block's Validate would reject, rather
			// than print a block that breaks agent.hcl.
			role, name := c.String("role"), c.String("name")
			switch {
			case strings.TrimSpace(role) == "":
				return exitf(2, "keygen: empty --role: use superadmin (reads /audit-logs) or another role name")
			case name == "" || strings.TrimSpace(name) != name:
				return exitf(2, "keygen: --name %q is empty or has surrounding spaces", name)
			case name == query.SuperadminKeyName:
				return exitf(2, "keygen: --name %q is reserved for the key from AUDITSHIP_SUPERADMIN_KEY; choose another name", name)
			}
			var b [32]byte
			if _, err := rand.Read(b[:]); err != nil {
				return exitf(1, "generate key: %w", err)
			}
			key := hex.EncodeToString(b[:])
			fmt.Fprintf(c.App.Writer, "key: %s\n\n# add inside the query block of agent.hcl:\napi_key %q {\n  sha256 = %q\n  role   = %q\n}\n",
				key, name, query.HashKey(key), role)
			return nil
		},
	}
}
