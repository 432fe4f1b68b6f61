package main

import (
	"fmt"
	"runtime"
	"time"

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

// buildTime is when this binary was built (make sets it), the earliest
// wall-clock time the agent believes; zero when unknown (the agent's own
// floor applies).
func buildTime() time.Time {
	t, err := time.Parse(time.RFC3339, built)
	if err != nil {
		return time.Time{}
	}
	return t
}
