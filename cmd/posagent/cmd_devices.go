package main

import (
	"github.com/spf13/cobra"

	"github.com/posagent/posagent/scanner"
)

func newDevicesCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "devices",
		Short: "List the USB HID devices and serial ports a scanner could be on",
		Long: `posagent devices lists what a technician needs to configure a scanner:
USB HID devices (VID:PID, interface, manufacturer, product, path) and the
serial ports present (/dev/ttyACM*, /dev/ttyUSB*, real /dev/ttyS*, and the
stable /dev/serial/by-id names to put in the config). It says so when this
build has no HID support or /dev/bus/usb is not readable.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			scanner.WriteDevices(cmd.OutOrStdout())
			return nil
		},
	}
}
