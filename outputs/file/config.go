package file

import (
	"github.com/hashicorp/hcl/v2"
)

// Config is the body of an output "file" block.
type Config struct {
	// Path is the file events are appended to. A relative path is relative
	// to the agent's data_dir; "/dev/null" discards every event. Default
	// "events.ndjson".
	Path string `hcl:"path,optional"`
	// Fsync makes every Write fsync the file before it returns, so an
	// acknowledged batch survives a power loss. It has no effect on files
	// that are not regular files (such as /dev/null). Default true.
	Fsync bool `hcl:"fsync,optional"`

	PathRange hcl.Range `hcl:"path,attr_value_range"`
}

// DefaultConfig returns the defaults: path "events.ndjson", fsync true.
func DefaultConfig() Config {
	return Config{Path: "events.ndjson", Fsync: true}
}

// Validate checks the values without doing I/O and returns every problem.
func (c *Config) Validate() hcl.Diagnostics {
	var diags hcl.Diagnostics
	if c.Path == "" {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid path",
			Detail:   `The path "" is empty; give a file name such as "events.ndjson" (relative paths are under data_dir) or "/dev/null".`,
			Subject:  c.PathRange.Ptr(),
		})
	}
	return diags
}
