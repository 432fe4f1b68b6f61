package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

// Set at build time by the Makefile (-ldflags -X main.version=...).
var (
	version = "dev"
	commit  = "unknown"
	built   = "unknown"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and build information",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "posagent %s (commit %s, built %s, %s %s/%s)\n",
				version, commit, built, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
