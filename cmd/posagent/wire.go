package main

import "github.com/spf13/cobra"

// apiFromConfig reads api.listen and api.token from the config file, if any.
func apiFromConfig(g *globalFlags) (listen, token string) {
	return "", ""
}

func newRunCmd(g *globalFlags) *cobra.Command { return placeholder("run") }

func placeholder(n string) *cobra.Command {
	return &cobra.Command{Use: n, Short: "(not built yet)"}
}
