package config

import (
	"fmt"
	"sort"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/auditship/auditship/agent/tailer"
	"github.com/auditship/auditship/parsers"
	"github.com/auditship/auditship/parsers/mapping"
	"github.com/auditship/auditship/parsers/schema"
	"github.com/auditship/auditship/query"
)

type pipelineHCL struct {
	BatchEvents       int    `hcl:"batch_events,optional"`
	BatchBytes        int    `hcl:"batch_bytes,optional"`
	FlushInterval     string `hcl:"flush_interval,optional"`
	MaxInflightEvents int    `hcl:"max_inflight_events,optional"`
	MaxInflightBytes  int    `hcl:"max_inflight_bytes,optional"`
}

func decodePipeline(blocks []blockHCL, diags hcl.Diagnostics) (Pipeline, hcl.Diagnostics) {
	var h pipelineHCL
	var ranges map[string]hcl.Range
	rng := hcl.Range{}
	if len(blocks) > 1 {
		diags = append(diags, duplicateBlock("pipeline", blocks[0].DefRange, blocks[1].DefRange))
	}
	if len(blocks) > 0 {
		diags = append(diags, gohcl.DecodeBody(blocks[0].Body, nil, &h)...)
		ranges = attrRanges(blocks[0].Body)
		rng = blocks[0].DefRange
	}
	return Pipeline{
		BatchEvents:       positive(&diags, "batch_events", h.BatchEvents, 1000, ranges, rng),
		BatchBytes:        positive(&diags, "batch_bytes", h.BatchBytes, 4<<20, ranges, rng),
		FlushInterval:     duration(&diags, "flush_interval", h.FlushInterval, "200ms", ranges, rng),
		MaxInflightEvents: positive(&diags, "max_inflight_events", h.MaxInflightEvents, 8192, ranges, rng),
		MaxInflightBytes:  positive(&diags, "max_inflight_bytes", h.MaxInflightBytes, 32<<20, ranges, rng),
	}, diags
}

type deadLetterHCL struct {
	Path     string `hcl:"path,optional"`
	MaxBytes int    `hcl:"max_bytes,optional"`
	MaxFiles int    `hcl:"max_files,optional"`
}

func decodeDeadLetter(blocks []blockHCL, dataDir, base string, diags hcl.Diagnostics) (DeadLetter, hcl.Diagnostics) {
	var h deadLetterHCL
	var ranges map[string]hcl.Range
	rng := hcl.Range{}
	if len(blocks) > 1 {
		diags = append(diags, duplicateBlock("dead_letter", blocks[0].DefRange, blocks[1].DefRange))
	}
	if len(blocks) > 0 {
		diags = append(diags, gohcl.DecodeBody(blocks[0].Body, nil, &h)...)
		ranges = attrRanges(blocks[0].Body)
		rng = blocks[0].DefRange
	}
	p := resolve(dataDir, "deadletter.ndjson")
	if h.Path != "" {
		p = resolve(base, h.Path)
	}
	return DeadLetter{
		Path:     p,
		MaxBytes: int64(positive(&diags, "max_bytes", h.MaxBytes, 100<<20, ranges, rng)),
		MaxFiles: positive(&diags, "max_files", h.MaxFiles, 5, ranges, rng),
	}, diags
}

type fileInputHCL struct {
	Paths             []string        `hcl:"paths"`
	Exclude           []string        `hcl:"exclude,optional"`
	StartAt           string          `hcl:"start_at,optional"`
	MaxLineBytes      int             `hcl:"max_line_bytes,optional"`
	ScanInterval      string          `hcl:"scan_interval,optional"`
	CloseInactive     string          `hcl:"close_inactive,optional"`
	MaxOpenFiles      int             `hcl:"max_open_files,optional"`
	FlushPartialAfter string          `hcl:"flush_partial_after,optional"`
	FingerprintBytes  int             `hcl:"fingerprint_bytes,optional"`
	Parser            []labelHCL      `hcl:"parser,block"`
	Mapping           []mapping.Block `hcl:"mapping,block"`
}

type labelHCL struct {
	Type     string    `hcl:"type,label"`
	Body     hcl.Body  `hcl:",remain"`
	DefRange hcl.Range `hcl:",def_range"`
}

func decodeInput(b labelledHCL, base string) (*Input, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	if b.Type != "file" {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown input type",
			Detail:   fmt.Sprintf("Input type %q is not known; the only input type is \"file\" (input \"file\" %q { ... }).", b.Type, b.Name),
			Subject:  &b.DefRange,
		}}
	}
	var h fileInputHCL
	diags = append(diags, gohcl.DecodeBody(b.Body, nil, &h)...)
	if diags.HasErrors() {
		return nil, diags
	}
	ranges := attrRanges(b.Body)
	t := tailer.DefaultConfig()
	for _, p := range h.Paths {
		t.Paths = append(t.Paths, resolve(base, p))
	}
	if len(h.Paths) == 0 {
		rng := ranges["paths"]
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid paths",
			Detail:   "paths must list at least one file path or glob, such as \"/var/log/app/*.log\".",
			Subject:  &rng,
		})
	}
	t.Exclude = h.Exclude
	for _, g := range []struct {
		attr  string
		globs []string
	}{{"paths", h.Paths}, {"exclude", h.Exclude}} {
		for _, p := range g.globs {
			if !doublestar.ValidatePathPattern(p) {
				rng := ranges[g.attr]
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid glob in " + g.attr,
					Detail:   fmt.Sprintf("%q is not a valid glob: check its brackets [...], braces {...} and backslashes. The syntax is that of github.com/bmatcuk/doublestar (*, **, ?, [abc], [a-z], {a,b}).", p),
					Subject:  &rng,
				})
			}
		}
	}
	switch h.StartAt {
	case "":
	case "beginning", "end":
		t.StartAt = h.StartAt
	default:
		rng := ranges["start_at"]
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid start_at",
			Detail:   fmt.Sprintf("start_at = %q is not allowed; use \"beginning\" or \"end\".", h.StartAt),
			Subject:  &rng,
		})
	}
	t.MaxLineBytes = positive(&diags, "max_line_bytes", h.MaxLineBytes, t.MaxLineBytes, ranges, b.DefRange)
	t.MaxOpenFiles = positive(&diags, "max_open_files", h.MaxOpenFiles, t.MaxOpenFiles, ranges, b.DefRange)
	t.FingerprintBytes = positive(&diags, "fingerprint_bytes", h.FingerprintBytes, t.FingerprintBytes, ranges, b.DefRange)
	if t.FingerprintBytes > tailer.MaxFingerprintBytes {
		rng := ranges["fingerprint_bytes"]
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid fingerprint_bytes",
			Detail:   fmt.Sprintf("fingerprint_bytes = %d is more than the %d bytes a fingerprint can hash; use 1 to %d.", t.FingerprintBytes, tailer.MaxFingerprintBytes, tailer.MaxFingerprintBytes),
			Subject:  &rng,
		})
	}
	t.ScanInterval = duration(&diags, "scan_interval", h.ScanInterval, t.ScanInterval.String(), ranges, b.DefRange)
	t.CloseInactive = duration(&diags, "close_inactive", h.CloseInactive, t.CloseInactive.String(), ranges, b.DefRange)
	t.FlushPartialAfter = duration(&diags, "flush_partial_after", h.FlushPartialAfter, t.FlushPartialAfter.String(), ranges, b.DefRange)

	in := &Input{Name: b.Name, Tailer: t, Range: b.DefRange}
	switch len(h.Parser) {
	case 0:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing parser block",
			Detail:   fmt.Sprintf("Input %q needs a parser block naming the log format, one of %s, for example parser \"json\" {}.", b.Name, quotedKeys(decoders)),
			Subject:  &b.DefRange,
		})
	case 1:
		pb := h.Parser[0]
		dec, d := newDecoder(pb.Type, pb.Body, pb.DefRange)
		diags = append(diags, d...)
		in.ParserType, in.Decoder = pb.Type, dec
	default:
		diags = append(diags, duplicateBlock("parser", h.Parser[0].DefRange, h.Parser[1].DefRange))
	}
	switch len(h.Mapping) {
	case 0:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing mapping block",
			Detail:   fmt.Sprintf("Input %q needs a mapping block that sets event_time, event_name, event_type and user_uid from the record.", b.Name),
			Subject:  &b.DefRange,
		})
	case 1:
		m, d := mapping.Compile(h.Mapping[0])
		diags = append(diags, d...)
		in.Mapping = m
	default:
		diags = append(diags, duplicateBlock("mapping", h.Mapping[0].DefRange, h.Mapping[1].DefRange))
	}
	// Build only the part of each record that the mapping reads.
	if p, ok := in.Decoder.(parsers.Projector); ok && in.Mapping != nil {
		if keys, all := in.Mapping.RecordKeys(); !all {
			in.Decoder = p.Project(keys)
		}
	}
	// Or, better, only the values it reads.
	if pd, ok := in.Decoder.(parsers.PathDecoder); ok && in.Mapping != nil {
		if paths, ok := in.Mapping.Paths(); ok {
			if dec, ok := pd.DecodePaths(paths); ok {
				in.DecodePaths, in.PathCount = dec, len(paths)
			}
		}
	}
	return in, diags
}

func decodeSchemas(root *rootHCL, base string, diags hcl.Diagnostics) (*schema.Catalog, hcl.Diagnostics) {
	s := schema.DefaultSettings()
	if len(root.SchemaSettings) > 1 {
		diags = append(diags, duplicateBlock("schemas", root.SchemaSettings[0].DefRange, root.SchemaSettings[1].DefRange))
	}
	if len(root.SchemaSettings) > 0 {
		var d hcl.Diagnostics
		s, d = schema.DecodeSettings(root.SchemaSettings[0].Body)
		s.DeclRange = root.SchemaSettings[0].DefRange
		diags = append(diags, d...)
	}
	if s.HMACKeyFile != "" {
		s.HMACKeyFile = resolve(base, s.HMACKeyFile)
	}
	c, d := schema.New(s, root.Schemas)
	return c, append(diags, d...)
}

func decodeOutput(b labelledHCL, base string) (*Output, hcl.Diagnostics) {
	entry, ok := outputTypes[b.Type]
	if !ok {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown output type",
			Detail:   fmt.Sprintf("Output type %q is not known; use one of %s.", b.Type, quotedKeys(outputTypes)),
			Subject:  &b.DefRange,
		}}
	}
	cfg, diags := entry(b.Body, base)
	return &Output{Type: b.Type, Name: b.Name, Config: cfg, Range: b.DefRange}, diags
}

type queryHCL struct {
	Output string   `hcl:"output,optional"`
	Rest   hcl.Body `hcl:",remain"`
}

func decodeQuery(cfg *Config, b queryBlockHCL, base string) hcl.Diagnostics {
	var h queryHCL
	diags := gohcl.DecodeBody(b.Body, nil, &h)
	if diags.HasErrors() {
		return diags
	}
	q := query.DefaultConfig()
	diags = append(diags, gohcl.DecodeBody(h.Rest, nil, &q)...)
	if diags.HasErrors() {
		return diags
	}
	if q.TLSCertFile != "" {
		q.TLSCertFile = resolve(base, q.TLSCertFile)
	}
	if q.TLSKeyFile != "" {
		q.TLSKeyFile = resolve(base, q.TLSKeyFile)
	}
	diags = append(diags, q.Validate()...)
	cfg.Query = &q
	cfg.QueryFrom = h.Output
	var names []string
	for _, o := range cfg.Outputs {
		names = append(names, o.Name)
	}
	if h.Output == "" && len(cfg.Outputs) > 0 {
		cfg.QueryFrom = cfg.Outputs[0].Name
	} else if h.Output != "" {
		found := false
		for _, n := range names {
			found = found || n == h.Output
		}
		if !found {
			rng := attrRanges(b.Body)["output"]
			defined := strings.Join(names, ", ")
			if defined == "" {
				defined = "none"
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unknown output",
				Detail:   fmt.Sprintf("query reads from output = %q, but no output has that name; defined outputs: %s.", h.Output, defined),
				Subject:  &rng,
			})
		}
	}
	return diags
}

func duplicateBlock(name string, first, second hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Duplicate " + name + " block",
		Detail:   fmt.Sprintf("Only one %s block is allowed here; the first is at %s.", name, first),
		Subject:  &second,
	}
}

func quotedKeys[V any](m map[string]V) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, fmt.Sprintf("%q", k))
	}
	sort.Strings(keys)
	return strings.Join(keys, ", ")
}
