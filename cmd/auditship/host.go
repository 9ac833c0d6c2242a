package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/mattn/go-isatty"

	"github.com/auditship/auditship/agent"
	"github.com/auditship/auditship/agent/config"
	"github.com/auditship/auditship/query"
)

// checkHost checks what the agent reads at start besides the config file:
// AUDITSHIP_SUPERADMIN_KEY (when the config serves the query API), the query
// API's TLS key pair, and the files the outputs read when they open. A
// problem there is one that restarting cannot fix, so `validate` (the
// systemd unit's ExecReload) reports it, and `agent` and `query` exit with
// 2, the configuration error that the unit does not restart on, instead of
// 1. It returns every problem found, each naming the setting.
func checkHost(cfg *config.Config) error {
	var errs []error
	if cfg.Query != nil {
		switch k := os.Getenv("AUDITSHIP_SUPERADMIN_KEY"); {
		case k == "":
		case strings.TrimSpace(k) != k:
			// HTTP drops the spaces around a header value: such a key
			// could never be sent.
			errs = append(errs, errors.New("AUDITSHIP_SUPERADMIN_KEY starts or ends with white space, which HTTP strips from the Authorization header: use a key from auditship keygen"))
		case len(k) < query.MinSuperadminKeyLen:
			errs = append(errs, fmt.Errorf("AUDITSHIP_SUPERADMIN_KEY is %d characters: use at least %d, e.g. from auditship keygen", len(k), query.MinSuperadminKeyLen))
		}
		if _, err := cfg.Query.LoadTLS(); err != nil {
			errs = append(errs, fmt.Errorf("query: %w", err))
		}
	}
	for _, o := range cfg.Outputs {
		for _, p := range agent.OutputFiles(o) {
			b, err := os.ReadFile(p) // small files: passwords, keys, PEM
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("output %q: %w", o.Name, err))
			case len(bytes.TrimSpace(b)) == 0:
				errs = append(errs, fmt.Errorf("output %q: file %q is empty", o.Name, p))
			}
		}
	}
	return errors.Join(errs...)
}

// keyNotice tells, once, where the super-admin key generated at the first
// start is. The key itself is shown only when w is a terminal: under systemd
// standard error goes to the journal, which more users can read (group adm)
// than the key file (mode 0600), so there only its path is logged.
func keyNotice(w io.Writer, log *slog.Logger) func(key, path string) {
	return func(key, path string) {
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			fmt.Fprintf(w, "auditship: generated a super-admin API key (stored in %s, shown only once):\n\n    export AUDITSHIP_SUPERADMIN_KEY=%s\n\n", path, key)
			return
		}
		log.Warn("generated a super-admin API key; it is not logged: read it from its file as root or the agent's user, or set AUDITSHIP_SUPERADMIN_KEY", "path", path)
	}
}
