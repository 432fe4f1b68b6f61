package main

import (
	"github.com/spf13/cobra"
)

// globalFlags are the flags every command understands.
type globalFlags struct {
	configPath string // --config: the YAML file
	apiURL     string // --api: the daemon's local API (default from config api.listen)
	token      string // --token: bearer token for a non-loopback API (else POSAGENT_API_TOKEN)
}

func newRootCmd() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "posagent",
		Short: "In-store WeChat Pay, Alipay and UnionPay payments through OTTPay",
		Long: `posagent takes in-store wallet payments through the OTTPay gateway.

It runs as a daemon (posagent run) beside or on the POS terminal: it reads
payment codes from barcode scanners (scan payments), shows merchant QR codes
on the customer display (qr payments), journals every payment before any
network call, follows each one to a final answer, and prints receipts.
POS systems talk to it over a local HTTP API; the other commands are clients
of that API or tools for technicians.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.configPath, "config", "", "config file (default ./posagent.yaml, else /etc/posagent/posagent.yaml)")
	root.PersistentFlags().StringVar(&g.apiURL, "api", "", "local API base URL (default from the config's api.listen, http://127.0.0.1:7420)")
	root.PersistentFlags().StringVar(&g.token, "token", "", "API bearer token (default $POSAGENT_API_TOKEN, else the config's api.token)")

	root.AddCommand(
		// the daemon (cmd_run.go: package daemon)
		newRunCmd(g),
		// clients of the local API (cmd_client.go)
		newPayCmd(g), newCancelCmd(g), newRefundCmd(g), newResolveCmd(g), newPaymentsCmd(g), newShowCmd(g),
		newReceiptCmd(g), newStatusCmd(g), newSyncCmd(g), newExportCmd(g), newAuditCmd(g),
		// shifts and end of day (cmd_report.go)
		newShiftCmd(g), newReportCmd(g), newPlacardCmd(g),
		// cashiers and managers (cmd_operator.go)
		newOperatorCmd(g),
		// scanners (cmd_scan.go, cmd_devices.go)
		newScanCmd(g), newDevicesCmd(g),
		// configuration and diagnosis (cmd_config.go, cmd_doctor.go: daemon/doctor)
		newConfigCmd(g), newDoctorCmd(g), newReloadCmd(g),
		// the payment journal (cmd_journal.go)
		newJournalCmd(g),
		// simulators (cmd_sim.go, cmd_printersim.go)
		newSimCmd(g), newPrinterSimCmd(g),
		newVersionCmd(),
	)
	root.AddCommand(newGenDocsCmd(root)) // hidden: man pages and completions for the packages
	return root
}
