package main

import (
	"fmt"
	"io"

	"github.com/posagent/posagent/client"
	"github.com/spf13/cobra"
)

func newReloadCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "reload",
		Short: "Make the running daemon read its configuration file again (as SIGHUP does)",
		Long: `Make the running daemon read its configuration file again, as
systemctl reload posagent (SIGHUP) does, and print what happened.

Changes that are safe while payments run apply at once: the display
(language, logo, pole display, PNG frames), the printer and receipt text
(merchant name, address, footer, receipt QR, receipt.language), the scanners
(a changed one is closed and opened again, the others keep running) and
log.level. A payment in flight goes on; a receipt being printed finishes on
the printer it started on. Changes that need a restart (store.*, api.listen,
the gateway, the flows' timings, what kind of display or printer there is)
are listed and not applied. A file with any problem changes nothing: every
problem is printed, and the exit status is 1.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(g)
			if err != nil {
				return err
			}
			// A refused reload is a result too: its problems.
			res, err := c.Reload(cmd.Context())
			if err != nil {
				return fmt.Errorf("reload: %w", err)
			}
			return printReload(cmd.OutOrStdout(), res)
		},
	}
}

// printReload words a reload's result for the technician.
func printReload(w io.Writer, res *client.ReloadResult) error {
	for _, wmsg := range res.Warnings {
		fmt.Fprintln(w, "warning:", wmsg)
	}
	if !res.OK {
		fmt.Fprintf(w, "refused: %s was not applied; the daemon runs on unchanged\n", res.File)
		if res.Error != "" {
			fmt.Fprintln(w, "  "+res.Error)
		}
		for _, p := range res.Problems {
			fmt.Fprintln(w, "  "+p.String())
		}
		return exitError{code: 1}
	}
	if len(res.Applied) == 0 && len(res.Restart) == 0 {
		fmt.Fprintf(w, "reloaded %s: nothing changed\n", res.File)
		return nil
	}
	fmt.Fprintf(w, "reloaded %s\n", res.File)
	for _, c := range res.Applied {
		fmt.Fprintf(w, "  applied  %s: %s -> %s\n", c.Key, c.Old, c.New)
	}
	for _, c := range res.Restart {
		fmt.Fprintf(w, "  restart  %s: %s -> %s (not applied: needs systemctl restart posagent)\n", c.Key, c.Old, c.New)
	}
	return nil
}
