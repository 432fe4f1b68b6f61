package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: replaced by the owner of this command.
func newDevicesCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{Use: "devices", Short: "(not built yet)", RunE: func(*cobra.Command, []string) error { return errors.New("devices: not built yet") }}
}
