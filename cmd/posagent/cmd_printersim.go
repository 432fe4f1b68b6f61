package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: replaced by the owner of this command.
func newPrinterSimCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{Use: "printersim", Short: "(not built yet)", RunE: func(*cobra.Command, []string) error { return errors.New("printersim: not built yet") }}
}
