package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: replaced by the owner of this command.
func newSimCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{Use: "sim", Short: "(not built yet)", RunE: func(*cobra.Command, []string) error { return errors.New("sim: not built yet") }}
}
