package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/config/configtext"
	"github.com/posagent/posagent/config/profile"
)

// loadConfig loads the configuration the global flags name (--config, else
// the search path) with the process environment. It does not validate.
func loadConfig(g *globalFlags) (*config.Config, config.Sources, error) {
	return config.Load(g.configPath, os.Environ())
}

func newConfigCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Write, check and show the configuration",
		Long: `Write, check and show the configuration.

The file is --config, else ./posagent.yaml, else /etc/posagent/posagent.yaml;
with none, the defaults run the built-in OTTPay simulator. Every key can be
overridden by the environment: POSAGENT_ and the key in capitals with "." as
"_" (gateway.sign_key is POSAGENT_GATEWAY_SIGN_KEY).`,
	}
	cmd.AddCommand(newConfigInitCmd(g), newConfigCheckCmd(g), newConfigShowCmd(g), newConfigDiffCmd(g), newConfigProfilesCmd(), newConfigLiveCmd())
	return cmd
}

func newConfigInitCmd(g *globalFlags) *cobra.Command {
	var force bool
	var profileName string
	c := &cobra.Command{
		Use:   "init [PATH]",
		Short: "Write the fully commented example configuration (default ./posagent.yaml)",
		Long: `Write the fully commented example configuration to PATH (default
--config, else ./posagent.yaml). Every key is explained in it. An existing
file is kept unless --force is given.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := g.configPath
			if len(args) == 1 {
				path = args[0]
			}
			if path == "" {
				path = "posagent.yaml"
			}
			data, err := config.ExampleFor(profileName)
			if err != nil {
				return err
			}
			if err := config.WriteFile(path, data, force); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (check it with: posagent config check --config %s)\n", path, path)
			return nil
		},
	}
	c.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	c.Flags().StringVar(&profileName, "profile", "", "device profile to write into device.profile ("+strings.Join(profile.Names(), ", ")+")")
	return c
}

func newConfigCheckCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "check",
		Short: "Load and validate the configuration; print ok or every problem",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ok, err := configtext.WriteCheck(cmd.OutOrStdout(), g.configPath, os.Environ())
			if err == nil && !ok {
				return exitError{code: 1}
			}
			return err
		},
	}
}

// listProblems writes each problem as a "# problem:" line; any is exit 1.
func listProblems(out io.Writer, problems []config.Problem) error {
	if configtext.WriteProblems(out, problems) {
		return exitError{code: 1}
	}
	return nil
}

func newConfigShowCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "Print the effective configuration and where each value came from (secrets redacted)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, src, keyProblems, err := configtext.LoadReport(g.configPath, os.Environ())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if err := config.Show(out, cfg, src); err != nil {
				return err
			}
			return listProblems(out, append(keyProblems, cfg.Problems()...))
		},
	}
}

func newConfigDiffCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "diff",
		Short: "Show what differs from the built-in defaults and the device profile, and who set it",
		Long: `Show every key whose value is not the built-in default: the value in
effect, what the device profile alone gives, the built-in default, and who set
it (the profile, the file with its line, or an environment variable). A line
of the file that repeats the profile's value is marked: it can go. Secrets
are redacted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, src, keyProblems, err := configtext.LoadReport(g.configPath, os.Environ())
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if err := config.WriteDiff(out, cfg, src); err != nil {
				return err
			}
			return listProblems(out, keyProblems)
		},
	}
}

func newConfigProfilesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "profiles",
		Short: "List the device profiles and what each sets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			configtext.WriteProfiles(cmd.OutOrStdout())
			return nil
		},
	}
}

func newConfigLiveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "live",
		Short: "List the keys a reload applies at once (the others need a restart)",
		Long: `List the keys a running agent applies at once on a reload (posagent reload,
SIGHUP), and when; a change of any other key needs a restart: a reload lists
it and leaves it as it was.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return config.WriteLive(cmd.OutOrStdout()) },
	}
}
