package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/daemon"
)

func newRunCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "run",
		Short: "Run the payment daemon (the local API, scanners, printer, display)",
		Long: `Run the payment daemon in the foreground until SIGINT or SIGTERM.

With the default configuration (no file at all, or gateway.url: sim) the
OTTPay simulator runs in-process on loopback, so nothing else is needed:
no account and no real money. The local API listens on api.listen
(127.0.0.1:7420); the customer display is at http://127.0.0.1:7420/display.

On start every payment that is not final is picked up from the journal and
driven on; in-doubt payments are reconciled in the background.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, src, err := config.Check(g.configPath, os.Environ())
			if err != nil {
				return err
			}
			log, level := daemon.NewLogger(cmd.ErrOrStderr(), cfg.Log.Level, cfg.Log.Format)
			for _, w := range src.Warnings {
				log.Warn("config: "+w, "part", "config")
			}
			// SIGHUP (systemctl reload posagent) reads the file again.
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer func() { signal.Stop(hup); close(hup) }()
			reload := make(chan struct{}, 1)
			go func() {
				for range hup {
					select {
					case reload <- struct{}{}:
					default: // one pending reload reads the newest file anyway
					}
				}
			}()
			do := daemon.Options{ConfigPath: src.File, Env: os.Environ(), Level: level, Reload: reload, Reloadable: true}
			err = runDaemonWith(cmd.Context(), cfg, log, func(r running) {
				fmt.Fprintf(cmd.OutOrStdout(), "posagent %s: API on %s://%s  customer display %s://%s/display\n", version, r.Scheme, r.API, r.Scheme, r.API)
				if r.SimURL != "" {
					fmt.Fprintf(cmd.OutOrStdout(), "OTTPay simulator (no real money) at %s; its ledger: %s/_sim/ledger\n", r.SimURL, r.SimURL)
				}
			}, do)
			if errors.Is(err, daemon.ErrFleetRestart) {
				log.Info(err.Error())
				return reexec() // fleet_unix.go
			}
			return err
		},
	}
}

// running says where a started daemon can be reached.
type running = daemon.Running

// runDaemon runs the daemon cfg describes until ctx ends (daemon.Run);
// ready is called once the API listens.
func runDaemon(ctx context.Context, cfg *config.Config, log *slog.Logger, ready func(running)) error {
	return runDaemonWith(ctx, cfg, log, ready, daemon.Options{})
}

// runDaemonWith is runDaemon with the options of `posagent run` (reload),
// this binary's version and build time; a journal that must not be used
// ends with its exit code (journalExit).
func runDaemonWith(ctx context.Context, cfg *config.Config, log *slog.Logger, ready func(running), do daemon.Options) error {
	do.Version, do.NotBefore, do.Ready = version, buildTime(), ready
	return journalExit(daemon.Run(ctx, cfg, log, do))
}
