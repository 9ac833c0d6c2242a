package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/auditship/auditship/agent"
	"github.com/auditship/auditship/agent/config"
	"github.com/auditship/auditship/event"
	"github.com/auditship/auditship/outputs"
	"github.com/auditship/auditship/outputs/sqlite"
	"github.com/auditship/auditship/query"
)

// searchCommand is `auditship query search`: the filters of GET /audit-logs
// on the command line, read straight from the configured index.
func searchCommand() *cli.Command {
	return &cli.Command{
		Name:  "search",
		Usage: "print audit events from the configured index, filtered like GET /audit-logs",
		Description: "Reads the output the query block names (by default the first output) directly,\n" +
			"without the HTTP API and without a key. The embedded store is opened read-only, so\n" +
			"this runs beside a running agent. Repeated --event-name, --event-type and --user-uid\n" +
			"are OR; different filters are AND. Times are ISO 8601; without a zone they are UTC.\n" +
			"Output is an aligned table on a terminal and a JSON list otherwise.",
		ArgsUsage: " ",
		Flags: []cli.Flag{
			configFlag,
			&cli.StringSliceFlag{Name: "event-name", Usage: "keep events with this event_name (repeatable, OR)"},
			&cli.StringSliceFlag{Name: "event-type", Usage: "keep events with this event_type (repeatable, OR)"},
			&cli.StringSliceFlag{Name: "user-uid", Usage: "keep events of this user_uid (repeatable, OR)"},
			&cli.StringFlag{Name: "since", Usage: "keep events of the last `DURATION` (24h, 90m); excludes --start-time"},
			&cli.StringFlag{Name: "start-time", Usage: "inclusive lower bound on event_time, ISO 8601 (no zone: UTC)"},
			&cli.StringFlag{Name: "end-time", Usage: "exclusive upper bound on event_time, ISO 8601 (no zone: UTC)"},
			&cli.IntFlag{Name: "limit", Value: query.DefaultLimit, Usage: "most events to print"},
			&cli.StringFlag{Name: "order", Value: "desc", Usage: "desc (newest first) or asc"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Value: "auto", Usage: "table, json, ndjson, or auto (table on a terminal, json otherwise)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() > 0 {
				return exitf(2, "query search takes no arguments, got %q; use the flags", c.Args().First())
			}
			q, err := searchQuery(c, time.Now())
			if err != nil {
				return err
			}
			format := c.String("output")
			switch format {
			case "auto":
				format = "json"
				if f, ok := c.App.Writer.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
					format = "table"
				}
			case "table", "json", "ndjson":
			default:
				return exitf(2, "invalid --output %q: use table, json, ndjson or auto", format)
			}
			cfg, err := loadConfig(c, c.App.ErrWriter)
			if err != nil {
				return err
			}
			ctx, stop := signalContext()
			defer stop()
			s, closeFn, err := openReadSearcher(ctx, cfg)
			if err != nil {
				return exitf(1, "%w", err)
			}
			defer closeFn()
			evs, err := searchAll(ctx, s, q, c.Int("limit"))
			if err != nil {
				return exitf(1, "%w", err)
			}
			if err := printEvents(c.App.Writer, format, evs); err != nil {
				return exitf(1, "write output: %w", err)
			}
			return nil
		},
	}
}

// searchQuery turns the flags into a query; problems are usage errors
// (exit code 2). now anchors --since.
func searchQuery(c *cli.Context, now time.Time) (outputs.Query, error) {
	var q outputs.Query
	if n := c.Int("limit"); n < 1 {
		return q, exitf(2, "invalid --limit %d: give a whole number of 1 or more", n)
	}
	for _, f := range []struct {
		name string
		dst  *[]string
	}{{"event-name", &q.Names}, {"event-type", &q.Types}} {
		for _, v := range c.StringSlice(f.name) {
			if v == "" {
				return q, exitf(2, "--%s is empty; give a value or leave the flag out", f.name)
			}
			*f.dst = append(*f.dst, v)
		}
	}
	for _, v := range c.StringSlice("user-uid") {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return q, exitf(2, "invalid --user-uid %q: give a whole number", v)
		}
		q.UserUIDs = append(q.UserUIDs, n)
	}
	switch c.String("order") {
	case "desc":
		q.Order = outputs.Desc
	case "asc":
		q.Order = outputs.Asc
	default:
		return q, exitf(2, "invalid --order %q: use asc or desc", c.String("order"))
	}
	if s := c.String("since"); s != "" {
		if c.IsSet("start-time") {
			return q, exitf(2, "give --since or --start-time, not both")
		}
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			return q, exitf(2, "invalid --since %q: give a positive duration such as 24h or 90m", s)
		}
		q.Start = now.Add(-d).UTC()
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"start-time", &q.Start}, {"end-time", &q.End}} {
		s := c.String(f.name)
		if s == "" {
			continue
		}
		t, err := event.ParseTime(s)
		if err != nil {
			t, err = time.ParseInLocation(time.DateOnly, s, time.UTC)
		}
		if err != nil {
			return q, exitf(2, "invalid --%s %q: give an ISO 8601 time such as 2021-08-17T20:51:47.268843 (UTC) or 2021-08-17T22:51:47+02:00", f.name, s)
		}
		*f.dst = t
	}
	if !q.Start.IsZero() && !q.End.IsZero() && q.Start.After(q.End) {
		return q, exitf(2, "the start time %s is after --end-time %s", event.FormatTime(q.Start), event.FormatTime(q.End))
	}
	return q, nil
}

// openReadSearcher opens the output the query block reads from (the first
// output without a query block) for searching only: the embedded store
// read-only, so that it can run beside the agent.
func openReadSearcher(ctx context.Context, cfg *config.Config) (outputs.Searcher, func(), error) {
	from := cfg.QueryFrom
	if from == "" && len(cfg.Outputs) > 0 {
		from = cfg.Outputs[0].Name
	}
	for _, oc := range cfg.Outputs {
		if oc.Name != from {
			continue
		}
		o, err := agent.NewOutput(oc, cfg.DataDir, discardLogger())
		if err != nil {
			return nil, nil, err
		}
		s, ok := o.(outputs.Searcher)
		if !ok {
			return nil, nil, fmt.Errorf("output %q (%s) cannot be searched", oc.Name, oc.Type)
		}
		if st, ok := o.(*sqlite.Store); ok {
			err = st.OpenReadOnly(ctx)
		} else if op, ok := o.(outputs.Opener); ok {
			err = op.Open(ctx)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("open output %q: %w", oc.Name, err)
		}
		return s, func() { _ = o.Close(context.Background()) }, nil
	}
	return nil, nil, fmt.Errorf("no output named %q", from)
}

// searchAll returns up to limit events of q, in pages of at most
// query.MaxLimit joined by keyset cursors.
func searchAll(ctx context.Context, s outputs.Searcher, q outputs.Query, limit int) ([]event.Event, error) {
	var all []event.Event
	for len(all) < limit {
		q.Limit = min(limit-len(all), query.MaxLimit)
		evs, err := s.Search(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		all = append(all, evs...)
		if len(evs) < q.Limit {
			break
		}
		last := evs[len(evs)-1]
		q.After = &outputs.Cursor{Time: last.Time, ID: last.ID}
	}
	return all, nil
}

// printEvents writes evs as an aligned table, a JSON list (the body
// GET /audit-logs would answer) or one JSON event per line.
func printEvents(w io.Writer, format string, evs []event.Event) error {
	switch format {
	case "json":
		if evs == nil {
			evs = []event.Event{}
		}
		b, err := json.Marshal(evs)
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	case "ndjson":
		enc := json.NewEncoder(w)
		for _, e := range evs {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EVENT_TIME (UTC)\tEVENT_ID\tEVENT_NAME\tEVENT_TYPE\tUSER_UID\tEVENT_DETAILS")
	for _, e := range evs {
		d, err := event.MarshalDetails(e.Details)
		if err != nil {
			return err
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\n", event.FormatTime(e.Time), e.ID, cell(e.Name), cell(e.Type), e.UserUID, d)
	}
	return tw.Flush()
}

// cell keeps a table cell on one line and its columns aligned.
func cell(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}
