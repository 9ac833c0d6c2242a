package config

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"

	"github.com/auditship/auditship/agent/tailer"
	"github.com/auditship/auditship/parsers"
	"github.com/auditship/auditship/parsers/mapping"
	"github.com/auditship/auditship/parsers/schema"
	"github.com/auditship/auditship/query"
)

// Config is a loaded and validated agent.hcl.
type Config struct {
	Path    string // absolute path of the config file
	DataDir string // absolute; holds the registry, the dead-letter file, keys, the default store

	ShutdownTimeout       time.Duration // how long a stop may take to flush in-flight events
	RegistryTTL           time.Duration // registry entries of files gone this long are dropped
	RegistryFlushInterval time.Duration // how often acknowledged offsets are written to disk

	Pipeline   Pipeline
	DeadLetter DeadLetter
	HTTP       HTTP
	Inputs     []Input
	Schemas    *schema.Catalog
	Outputs    []Output
	Query      *query.Config // nil: the agent serves no query API
	QueryFrom  string        // name of the output GET /audit-logs reads from

	// DeliverySource is the text of the pipeline, schemas, schema and query
	// blocks as written; a reload restarts the delivery side when it changes.
	DeliverySource string
}

// Pipeline sizes the batches between the parsers and the outputs.
type Pipeline struct {
	BatchEvents       int           // events per batch (default 1000)
	BatchBytes        int           // approximate bytes of source lines per batch (default 4 MiB)
	FlushInterval     time.Duration // a partial batch is sent after this long (default 200ms)
	MaxInflightEvents int           // lines queued between tailers and outputs (default 8192)
	MaxInflightBytes  int           // bound on the queue's memory, in bytes (default 32 MiB); see [Config.Queue]
}

// DeadLetter configures the dead-letter file.
type DeadLetter struct {
	Path     string // absolute; default data_dir/deadletter.ndjson
	MaxBytes int64  // rotate when the file is larger (default 100 MiB)
	MaxFiles int    // rotated files kept (default 5)
}

// HTTP is the http block: the operations listener that serves /metrics,
// /healthz and /readyz, without authentication.
type HTTP struct {
	// Listen is the host:port (default "127.0.0.1:9464"); "" disables the
	// listener.
	Listen string
	// ListenSet reports whether listen was written in the file. When it was
	// not, a default address already in use is logged and skipped instead
	// of stopping the agent.
	ListenSet bool
	// ReadyMaxLagBytes is the input lag in bytes above which /readyz fails;
	// 0 (default) sets no bound.
	ReadyMaxLagBytes int64
	// ReadyFailingAfter is how long an output's writes may keep failing
	// before /readyz fails (default 30s).
	ReadyFailingAfter time.Duration
}

// Input is one `input "file" "NAME"` block.
type Input struct {
	Name string
	// Source is the block's text as written; two loads of the same block
	// have the same Source, which is how a reload tells unchanged inputs.
	Source     string
	Tailer     tailer.Config
	ParserType string
	Decoder    parsers.Decoder
	Mapping    *mapping.Mapping
	// DecodePaths, when not nil, decodes only the values at the mapping's
	// PathCount paths, for [mapping.Mapping.MapValues]: the decoder is a
	// [parsers.PathDecoder] and the mapping reads nothing but plain paths.
	DecodePaths parsers.PathsFunc
	PathCount   int
	Range       hcl.Range
}

// Output is one `output "TYPE" "NAME"` block; Config is the type's own
// config, one of *sqlite.Config or *elasticsearch.Config.
type Output struct {
	Type   string
	Name   string
	Config any
	Range  hcl.Range
	Source string // the block's text as written, see Input.Source
}

type rootHCL struct {
	DataDir               string          `hcl:"data_dir,optional"`
	ShutdownTimeout       string          `hcl:"shutdown_timeout,optional"`
	RegistryTTL           string          `hcl:"registry_ttl,optional"`
	RegistryFlushInterval string          `hcl:"registry_flush_interval,optional"`
	Pipeline              []blockHCL      `hcl:"pipeline,block"`
	DeadLetter            []blockHCL      `hcl:"dead_letter,block"`
	HTTP                  []blockHCL      `hcl:"http,block"`
	Inputs                []labelledHCL   `hcl:"input,block"`
	SchemaSettings        []blockHCL      `hcl:"schemas,block"`
	Schemas               []schema.Block  `hcl:"schema,block"`
	Outputs               []labelledHCL   `hcl:"output,block"`
	Query                 []queryBlockHCL `hcl:"query,block"`
	Ranges                rootRanges      `hcl:",remain"`
}

type rootRanges = hcl.Body

type blockHCL struct {
	Body     hcl.Body  `hcl:",remain"`
	DefRange hcl.Range `hcl:",def_range"`
}

type labelledHCL struct {
	Type     string    `hcl:"type,label"`
	Name     string    `hcl:"name,label"`
	Body     hcl.Body  `hcl:",remain"`
	DefRange hcl.Range `hcl:",def_range"`
}

type queryBlockHCL struct {
	Body     hcl.Body  `hcl:",remain"`
	DefRange hcl.Range `hcl:",def_range"`
}

// Files maps file names to parsed HCL files, for rendering diagnostics with
// hcl.NewDiagnosticTextWriter.
type Files = map[string]*hcl.File

// Load reads, decodes and validates the config file at path. It returns the
// parsed files (for rendering diagnostics) even when diags has errors; cfg is
// nil whenever diags has errors. Load reads key and schema files named in the
// config but opens no network connection and no store.
func Load(path string) (*Config, Files, hcl.Diagnostics) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	src, err := os.ReadFile(abs)
	if err != nil {
		return nil, nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Cannot read config file",
			Detail:   fmt.Sprintf("Reading %q: %s.", path, err),
		}}
	}
	return Parse(src, abs)
}

// Parse is Load for config text already in memory; filename names it in
// diagnostics and anchors relative paths.
func Parse(src []byte, filename string) (*Config, Files, hcl.Diagnostics) {
	p := hclparse.NewParser()
	f, diags := p.ParseHCL(src, filename)
	if diags.HasErrors() {
		return nil, p.Files(), diags
	}
	var root rootHCL
	diags = append(diags, decodeRoot(f.Body, &root)...)
	if diags.HasErrors() {
		return nil, p.Files(), diags
	}
	cfg, more := build(&root, filename, f.Body)
	if cfg != nil {
		setSources(cfg, f.Body, src)
	}
	diags = append(diags, more...)
	if diags.HasErrors() {
		return nil, p.Files(), diags
	}
	return cfg, p.Files(), diags
}

// decodeRoot decodes the top level; the remain body is unused, so to make
// unknown top-level attributes errors it is checked against an empty schema.
func decodeRoot(body hcl.Body, root *rootHCL) hcl.Diagnostics {
	diags := gohcl.DecodeBody(body, nil, root)
	if diags.HasErrors() {
		return diags
	}
	_, rest := root.Ranges.Content(&hcl.BodySchema{})
	return append(diags, rest...)
}

func build(root *rootHCL, filename string, body hcl.Body) (*Config, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	base := filepath.Dir(filename)
	whole := body.MissingItemRange()
	attrs := attrRanges(body)

	cfg := &Config{Path: filename}
	dataDir := root.DataDir
	if dataDir == "" {
		dataDir = "data"
	}
	cfg.DataDir = resolve(base, dataDir)

	cfg.ShutdownTimeout = duration(&diags, "shutdown_timeout", root.ShutdownTimeout, "30s", attrs, whole)
	cfg.RegistryTTL = duration(&diags, "registry_ttl", root.RegistryTTL, "720h", attrs, whole)
	cfg.RegistryFlushInterval = duration(&diags, "registry_flush_interval", root.RegistryFlushInterval, "1s", attrs, whole)

	cfg.Pipeline, diags = decodePipeline(root.Pipeline, diags)
	cfg.DeadLetter, diags = decodeDeadLetter(root.DeadLetter, cfg.DataDir, base, diags)
	cfg.HTTP, diags = decodeHTTP(root.HTTP, diags)

	names := map[string]hcl.Range{}
	for _, in := range root.Inputs {
		if prev, dup := names[in.Name]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate input name",
				Detail:   fmt.Sprintf("An input named %q is already defined at %s; input names must be unique.", in.Name, prev),
				Subject:  &in.DefRange,
			})
			continue
		}
		names[in.Name] = in.DefRange
		input, d := decodeInput(in, base)
		diags = append(diags, d...)
		if input != nil {
			cfg.Inputs = append(cfg.Inputs, *input)
		}
	}
	if len(root.Inputs) == 0 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No input",
			Detail:   `The agent needs at least one input "file" "NAME" { paths = [...] } block.`,
			Subject:  &whole,
		})
	}

	cfg.Schemas, diags = decodeSchemas(root, base, diags)

	outNames := map[string]hcl.Range{}
	for _, ob := range root.Outputs {
		if prev, dup := outNames[ob.Name]; dup {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate output name",
				Detail:   fmt.Sprintf("An output named %q is already defined at %s; output names must be unique.", ob.Name, prev),
				Subject:  &ob.DefRange,
			})
			continue
		}
		outNames[ob.Name] = ob.DefRange
		out, d := decodeOutput(ob, base)
		diags = append(diags, d...)
		if out != nil {
			cfg.Outputs = append(cfg.Outputs, *out)
		}
	}
	if len(root.Outputs) == 0 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "No output",
			Detail:   `The agent needs at least one output block, for example output "sqlite" "store" {}.`,
			Subject:  &whole,
		})
	}

	if len(root.Query) > 1 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Duplicate query block",
			Detail:   fmt.Sprintf("Only one query block is allowed; the first is at %s.", root.Query[0].DefRange),
			Subject:  &root.Query[1].DefRange,
		})
	} else if len(root.Query) == 1 {
		diags = append(diags, decodeQuery(cfg, root.Query[0], base)...)
	}
	return cfg, diags
}

// resolve makes p absolute against base unless it already is, and clean
// (no "//", "." or ".." elements): paths and globs are compared as strings.
func resolve(base, p string) string {
	if p == "" {
		return p
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(base, p)
}

// attrRanges returns the value ranges of a body's attributes by name, for
// pointing diagnostics at the offending value.
func attrRanges(body hcl.Body) map[string]hcl.Range {
	out := map[string]hcl.Range{}
	content, _, _ := body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{
		{Name: "data_dir"}, {Name: "shutdown_timeout"}, {Name: "registry_ttl"}, {Name: "registry_flush_interval"},
		{Name: "batch_events"}, {Name: "batch_bytes"}, {Name: "flush_interval"}, {Name: "max_inflight_events"},
		{Name: "path"}, {Name: "max_bytes"}, {Name: "max_files"},
		{Name: "paths"}, {Name: "exclude"}, {Name: "start_at"}, {Name: "max_line_bytes"}, {Name: "scan_interval"},
		{Name: "close_inactive"}, {Name: "max_open_files"}, {Name: "flush_partial_after"}, {Name: "fingerprint_bytes"},
		{Name: "output"}, {Name: "listen"}, {Name: "ready_max_lag_bytes"}, {Name: "ready_failing_after"},
	}})
	if content == nil {
		return out
	}
	for name, a := range content.Attributes {
		out[name] = a.Expr.Range()
	}
	return out
}

// duration parses an optional duration attribute; def applies when s is "".
func duration(diags *hcl.Diagnostics, name, s, def string, ranges map[string]hcl.Range, fallback hcl.Range) time.Duration {
	if s == "" {
		s = def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		rng, ok := ranges[name]
		if !ok {
			rng = fallback
		}
		*diags = append(*diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid " + name,
			Detail:   fmt.Sprintf("%s = %q is not a duration; write a non-negative Go duration such as \"500ms\", \"5s\" or \"1h\".", name, s),
			Subject:  &rng,
		})
		return 0
	}
	return d
}

// positive checks an optional integer attribute; def applies when v is 0.
func positive(diags *hcl.Diagnostics, name string, v, def int, ranges map[string]hcl.Range, fallback hcl.Range) int {
	if v == 0 {
		return def
	}
	if v < 0 {
		rng, ok := ranges[name]
		if !ok {
			rng = fallback
		}
		*diags = append(*diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid " + name,
			Detail:   fmt.Sprintf("%s = %d must be a positive integer.", name, v),
			Subject:  &rng,
		})
		return def
	}
	return v
}

// maxChunks bounds the line queue: a few chunks of up to 512 lines keep the
// pipeline busy while a tailer reads; more would only hold memory.
const maxChunks = 8

// Queue sizes the line queue between the tailers and the pipeline. Tailers
// send lines in chunks of at most chunkLines lines and at most
// max(tailer.ChunkBytes, max_line_bytes) bytes; the queue holds chunks
// chunks. Together they hold at most max_inflight_events lines (chunkLines
// is max_inflight_events/16, at most tailer.ChunkLines), and never more than
// max_inflight_bytes when every chunk is as large as it can be, so the
// queue's memory stays under max_inflight_bytes whatever the lines are like.
// chunks is at least 2 and at most maxChunks, chunkLines at least 1.
func (c *Config) Queue() (chunks, chunkLines int) {
	longest := tailer.ChunkBytes
	for _, in := range c.Inputs {
		longest = max(longest, in.Tailer.MaxLineBytes)
	}
	chunkLines = min(tailer.ChunkLines, max(1, c.Pipeline.MaxInflightEvents/16))
	chunks = max(2, min(maxChunks, c.Pipeline.MaxInflightEvents/chunkLines, c.Pipeline.MaxInflightBytes/longest))
	return chunks, chunkLines
}
