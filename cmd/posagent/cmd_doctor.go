package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// PLACEHOLDER: replaced by the owner of this command.
func newDoctorCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{Use: "doctor", Short: "(not built yet)", RunE: func(*cobra.Command, []string) error { return errors.New("doctor: not built yet") }}
}
