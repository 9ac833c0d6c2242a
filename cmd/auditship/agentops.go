package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"

	"github.com/auditship/auditship/agent"
	"github.com/auditship/auditship/agent/config"
)

// reloadOnHUP reloads the config at path into a on every SIGHUP until ctx
// ends or the returned stop function is called. An invalid config is logged
// at Error with its rendered diagnostics and the running config is kept.
func reloadOnHUP(ctx context.Context, path string, a *agent.Agent, log *slog.Logger) (stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
			}
			log.Info("reload requested", "config", path)
			cfg, files, diags := config.Load(path)
			if diags.HasErrors() {
				var b bytes.Buffer
				printDiagnostics(&b, files, diags)
				log.Error("reload: configuration invalid, keeping the running one", "config", path, "errors", countErrors(diags), "diagnostics", b.String())
				continue
			}
			if err := a.Reload(cfg); err != nil {
				log.Error("reload failed, keeping the running configuration", "config", path, "error", err)
				continue
			}
			log.Info("configuration reloaded", "config", path, "inputs", len(cfg.Inputs), "outputs", len(cfg.Outputs))
		}
	})
	return func() {
		signal.Stop(hup)
		cancel()
		wg.Wait()
	}
}

// showProgress draws a progress bar of a backfill (bytes read of the bytes
// to read, events per second) on w when w is a terminal; otherwise it does
// nothing. The returned function stops and clears it.
func showProgress(w io.Writer, a *agent.Agent) (stop func()) {
	f, ok := w.(*os.File)
	if !ok || !(isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		return func() {}
	}
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetDescription("backfill"),
		progressbar.OptionClearOnFinish(),
	)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		start := time.Now()
		sized := false
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			st := a.Stats()
			read := st.BytesRead.Load()
			if !sized {
				if lag := a.LagBytes(); lag > 0 {
					bar.ChangeMax64(read + lag)
					sized = true
				}
			}
			events := st.Shipped.Load()
			rate := float64(events) / max(time.Since(start).Seconds(), 0.001)
			bar.Describe(fmt.Sprintf("backfill: %d events (%.0f/s)", events, rate))
			_ = bar.Set64(read)
		}
	})
	return func() {
		close(done)
		wg.Wait()
		_ = bar.Finish()
	}
}
