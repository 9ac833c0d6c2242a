package sqlite

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Config is the body of an output "sqlite" block.
type Config struct {
	// Path is the database file. A relative path is relative to the agent's
	// data_dir. Default "audit.db". The -wal and -shm files live beside it.
	Path string `hcl:"path,optional"`
	// BusyTimeout is how long a statement waits for a lock held by another
	// connection or process before failing, as a duration ("5s"). Default "5s".
	BusyTimeout string `hcl:"busy_timeout,optional"`

	PathRange        hcl.Range `hcl:"path,attr_value_range"`
	BusyTimeoutRange hcl.Range `hcl:"busy_timeout,attr_value_range"`
}

// DefaultConfig returns the defaults: path "audit.db", busy_timeout "5s".
func DefaultConfig() Config {
	return Config{Path: "audit.db", BusyTimeout: "5s"}
}

// Validate checks the values without doing I/O and returns every problem.
func (c *Config) Validate() hcl.Diagnostics {
	var diags hcl.Diagnostics
	if c.Path == "" {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid path",
			Detail:   `The path "" is empty; give a file name such as "audit.db" (relative paths are under data_dir).`,
			Subject:  c.PathRange.Ptr(),
		})
	}
	if _, err := c.busyTimeout(); err != nil {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid busy_timeout",
			Detail:   fmt.Sprintf("The busy_timeout %q is not a duration of zero or more, such as \"5s\" or \"500ms\".", c.BusyTimeout),
			Subject:  c.BusyTimeoutRange.Ptr(),
		})
	}
	return diags
}

// busyTimeout parses BusyTimeout; empty means the default.
func (c *Config) busyTimeout() (time.Duration, error) {
	if c.BusyTimeout == "" {
		return 5 * time.Second, nil
	}
	d, err := time.ParseDuration(c.BusyTimeout)
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, fmt.Errorf("negative busy_timeout %q", c.BusyTimeout)
	}
	return d, nil
}
