package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/posagent/posagent/internal/mangen"
	"github.com/spf13/cobra"
)

// newGenDocsCmd writes the man pages and shell completions the packages
// ship (scripts/package). Hidden: it is for packaging, not for technicians.
func newGenDocsCmd(root *cobra.Command) *cobra.Command {
	var man, completions, date string
	c := &cobra.Command{
		Use:    "gen-docs",
		Short:  "Write man pages (section 1, gzipped) and bash, zsh and fish completions",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if man != "" {
				if err := os.MkdirAll(man, 0o755); err != nil {
					return err
				}
				if err := mangen.Write(root, man, mangen.Options{Date: date, Source: "posagent " + version, Manual: "posagent manual", Files: [][2]string{
					{"/etc/posagent/posagent.yaml", "the configuration (docs: /usr/share/doc/posagent/configuration.md)"},
					{"/etc/posagent/env", "secrets for the service (POSAGENT_GATEWAY_SIGN_KEY=...)"},
					{"/var/lib/posagent/posagent.db", "the payment journal"}}}); err != nil {
					return err
				}
			}
			if completions != "" {
				if err := os.MkdirAll(completions, 0o755); err != nil {
					return err
				}
				for name, gen := range map[string]func(string) error{
					"posagent.bash": func(p string) error { return root.GenBashCompletionFileV2(p, true) },
					"_posagent":     root.GenZshCompletionFile,
					"posagent.fish": func(p string) error { return root.GenFishCompletionFile(p, true) },
				} {
					if err := gen(filepath.Join(completions, name)); err != nil {
						return fmt.Errorf("gen-docs: %s: %w", name, err)
					}
				}
			}
			return nil
		},
	}
	c.Flags().StringVar(&man, "man", "", "directory for the man pages")
	c.Flags().StringVar(&completions, "completions", "", "directory for posagent.bash, _posagent and posagent.fish")
	c.Flags().StringVar(&date, "date", time.Now().UTC().Format("2006-01-02"), "date in the pages' footers (reproducible builds pass one)")
	return c
}
