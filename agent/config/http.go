package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/auditship/auditship/query"
)

// DefaultHTTPListen is the address of the operations listener when the http
// block does not set listen.
const DefaultHTTPListen = "127.0.0.1:9464"

type httpHCL struct {
	Listen            *string `hcl:"listen,optional"`
	ReadyMaxLagBytes  int     `hcl:"ready_max_lag_bytes,optional"`
	ReadyFailingAfter string  `hcl:"ready_failing_after,optional"`
}

func decodeHTTP(blocks []blockHCL, diags hcl.Diagnostics) (HTTP, hcl.Diagnostics) {
	var h httpHCL
	var ranges map[string]hcl.Range
	rng := hcl.Range{}
	if len(blocks) > 1 {
		diags = append(diags, duplicateBlock("http", blocks[0].DefRange, blocks[1].DefRange))
	}
	if len(blocks) > 0 {
		diags = append(diags, gohcl.DecodeBody(blocks[0].Body, nil, &h)...)
		ranges = attrRanges(blocks[0].Body)
		rng = blocks[0].DefRange
	}
	out := HTTP{Listen: DefaultHTTPListen}
	if h.Listen != nil {
		out.Listen, out.ListenSet = *h.Listen, true
		if err := query.CheckListen(out.Listen); out.Listen != "" && err != nil {
			r := ranges["listen"]
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid listen",
				Detail:   fmt.Sprintf("The listen address %q %s; use host:port, such as %q, or \"\" for no listener.", out.Listen, err, DefaultHTTPListen),
				Subject:  &r,
			})
		}
	}
	if h.ReadyMaxLagBytes < 0 {
		r := ranges["ready_max_lag_bytes"]
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid ready_max_lag_bytes",
			Detail:   fmt.Sprintf("ready_max_lag_bytes = %d must be 0 (no bound) or a positive number of bytes.", h.ReadyMaxLagBytes),
			Subject:  &r,
		})
	}
	out.ReadyMaxLagBytes = int64(max(h.ReadyMaxLagBytes, 0))
	out.ReadyFailingAfter = duration(&diags, "ready_failing_after", h.ReadyFailingAfter, "30s", ranges, rng)
	return out, diags
}

// setSources records the text of each input and output block in its Source
// and that of the blocks the delivery side depends on in DeliverySource.
func setSources(cfg *Config, body hcl.Body, src []byte) {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return
	}
	inputs, outputs := map[string]string{}, map[string]string{}
	var delivery strings.Builder
	for _, b := range sb.Blocks {
		r := b.Range()
		if r.Start.Byte < 0 || r.Start.Byte > r.End.Byte || r.End.Byte > len(src) {
			continue
		}
		text := string(src[r.Start.Byte:r.End.Byte])
		switch b.Type {
		case "input":
			if len(b.Labels) == 2 {
				inputs[b.Labels[1]] = text
			}
		case "output":
			if len(b.Labels) == 2 {
				outputs[b.Labels[1]] = text
			}
		case "pipeline", "schemas", "schema", "query":
			delivery.WriteString(text)
			delivery.WriteByte('\n')
		}
	}
	for i := range cfg.Inputs {
		cfg.Inputs[i].Source = inputs[cfg.Inputs[i].Name]
	}
	for i := range cfg.Outputs {
		cfg.Outputs[i].Source = outputs[cfg.Outputs[i].Name]
	}
	cfg.DeliverySource = delivery.String()
}
