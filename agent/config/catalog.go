package config

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/auditship/auditship/outputs/elasticsearch"
	"github.com/auditship/auditship/outputs/file"
	"github.com/auditship/auditship/outputs/sqlite"
	"github.com/auditship/auditship/parsers"
	"github.com/auditship/auditship/parsers/json"
	"github.com/auditship/auditship/parsers/logfmt"
	"github.com/auditship/auditship/parsers/regex"
	"github.com/auditship/auditship/parsers/syslog"
)

// decoders is the catalog of log formats: parser block label → constructor
// that decodes the block body over the format's defaults and validates it.
var decoders = map[string]func(hcl.Body, hcl.Range) (parsers.Decoder, hcl.Diagnostics){
	"json": func(b hcl.Body, rng hcl.Range) (parsers.Decoder, hcl.Diagnostics) {
		c := json.DefaultConfig()
		c.Block = rng
		return newWith(b, &c, c.Validate, func() (parsers.Decoder, error) { return json.New(c) })
	},
	"logfmt": func(b hcl.Body, rng hcl.Range) (parsers.Decoder, hcl.Diagnostics) {
		c := logfmt.DefaultConfig()
		c.Block = rng
		return newWith(b, &c, c.Validate, func() (parsers.Decoder, error) { return logfmt.New(c) })
	},
	"regex": func(b hcl.Body, rng hcl.Range) (parsers.Decoder, hcl.Diagnostics) {
		c := regex.DefaultConfig()
		c.Block = rng
		return newWith(b, &c, c.Validate, func() (parsers.Decoder, error) { return regex.New(c) })
	},
	"syslog": func(b hcl.Body, rng hcl.Range) (parsers.Decoder, hcl.Diagnostics) {
		c := syslog.DefaultConfig()
		c.Block = rng
		return newWith(b, &c, c.Validate, func() (parsers.Decoder, error) { return syslog.New(c) })
	},
}

// newWith decodes body into cfg, validates it and builds the decoder. validate
// is a method value bound to cfg, so it sees the decoded values.
func newWith(body hcl.Body, cfg any, validate func() hcl.Diagnostics, build func() (parsers.Decoder, error)) (parsers.Decoder, hcl.Diagnostics) {
	diags := gohcl.DecodeBody(body, nil, cfg)
	if diags.HasErrors() {
		return nil, diags
	}
	diags = append(diags, validate()...)
	if diags.HasErrors() {
		return nil, diags
	}
	d, err := build()
	if err != nil {
		rng := body.MissingItemRange()
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid parser",
			Detail:   err.Error() + ".",
			Subject:  &rng,
		})
	}
	return d, diags
}

func newDecoder(typ string, body hcl.Body, rng hcl.Range) (parsers.Decoder, hcl.Diagnostics) {
	f, ok := decoders[typ]
	if !ok {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown parser",
			Detail:   fmt.Sprintf("Parser %q is not known; use one of %s.", typ, quotedKeys(decoders)),
			Subject:  &rng,
		}}
	}
	return f(body, rng)
}

// outputTypes is the catalog of output types: output block label → decoder
// of the block body over the type's defaults. base anchors relative paths.
var outputTypes = map[string]func(body hcl.Body, base string) (any, hcl.Diagnostics){
	"sqlite": func(b hcl.Body, _ string) (any, hcl.Diagnostics) {
		c := sqlite.DefaultConfig()
		diags := gohcl.DecodeBody(b, nil, &c)
		if diags.HasErrors() {
			return nil, diags
		}
		return &c, append(diags, c.Validate()...)
	},
	"file": func(b hcl.Body, _ string) (any, hcl.Diagnostics) {
		c := file.DefaultConfig()
		diags := gohcl.DecodeBody(b, nil, &c)
		if diags.HasErrors() {
			return nil, diags
		}
		return &c, append(diags, c.Validate()...)
	},
	"elasticsearch": func(b hcl.Body, base string) (any, hcl.Diagnostics) {
		c := elasticsearch.DefaultConfig()
		c.Block = b.MissingItemRange()
		diags := gohcl.DecodeBody(b, nil, &c)
		if diags.HasErrors() {
			return nil, diags
		}
		for _, p := range []*string{&c.CACertFile, &c.ClientCertFile, &c.ClientKeyFile, &c.PasswordFile, &c.APIKeyFile} {
			*p = resolve(base, *p)
		}
		return &c, append(diags, c.Validate()...)
	},
}
