package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/posagent/posagent/daemon/doctor"
)

func newDoctorCmd(g *globalFlags) *cobra.Command {
	opt := doctor.Options{Now: time.Now, MaxSkew: 2 * time.Minute}
	c := &cobra.Command{
		Use:   "doctor",
		Short: "Check the configuration, each configured device, the journal, the gateway and the clock",
		Long: `Check everything the agent needs and say what to fix: the configuration
(every problem), the journal (its directory is writable and no running agent
holds it), each configured scanner (serial: opened; hid: present), the printer
(network: connected; usb, serial, file: can be opened for writing), the pole
or PNG display, the gateway (a TCP connection and an EX_RATE_QUERY; skipped
for the simulator), the clock (a sane year, and the gateway's Date header
when reachable) and, with feed.enabled, the NATS connection, the stream and
the lane's permissions (nothing is stored). With --print-test, a test receipt is printed.

One line per check, "ok" or "FAIL" with the fix; the exit status is non-zero
when any check fails. Run it with the agent stopped: a running agent holds
the journal and its serial devices.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, src, err := loadConfig(g)
			if n := doctor.Run(cmd.Context(), cmd.OutOrStdout(), cfg, src, err, opt); n > 0 {
				return exitError{code: 1, msg: fmt.Sprintf("doctor: %d check(s) failed", n)}
			}
			return nil
		},
	}
	c.Flags().DurationVar(&opt.Timeout, "timeout", 3*time.Second, "time allowed for each network or lock check")
	c.Flags().BoolVar(&opt.PrintTest, "print-test", false, "print a test receipt on the configured printer")
	return c
}
