package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
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
				if err := writeManPages(root, man, date); err != nil {
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

// writeManPages writes posagent.1.gz and posagent-SUB[-SUB].1.gz for every
// visible command, from its Use, Short, Long and flags.
func writeManPages(cmd *cobra.Command, dir, date string) error {
	if cmd.Hidden || (!cmd.IsAvailableCommand() && cmd.HasParent()) {
		return nil
	}
	name := strings.ReplaceAll(cmd.CommandPath(), " ", "-")
	var b bytes.Buffer
	fmt.Fprintf(&b, ".TH %s 1 %q \"posagent %s\" \"posagent manual\"\n", strings.ToUpper(name), date, version)
	fmt.Fprintf(&b, ".SH NAME\n%s \\- %s\n", roff(name), roff(cmd.Short))
	fmt.Fprintf(&b, ".SH SYNOPSIS\n.B %s\n", roff(cmd.UseLine()))
	long := cmd.Long
	if long == "" {
		long = cmd.Short
	}
	fmt.Fprintf(&b, ".SH DESCRIPTION\n")
	for _, para := range strings.Split(strings.TrimSpace(long), "\n\n") {
		fmt.Fprintf(&b, ".PP\n%s\n", roff(para))
	}
	flags := func(title string, fs *pflag.FlagSet) {
		if !fs.HasAvailableFlags() {
			return
		}
		fmt.Fprintf(&b, ".SH %s\n", title)
		fs.VisitAll(func(f *pflag.Flag) {
			if f.Hidden {
				return
			}
			head := "\\-\\-" + roff(f.Name)
			if f.Shorthand != "" {
				head = "\\-" + f.Shorthand + ", " + head
			}
			if f.Value.Type() != "bool" {
				head += " " + roff(f.Value.Type())
			}
			fmt.Fprintf(&b, ".TP\n.B %s\n%s", head, roff(f.Usage))
			if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" {
				fmt.Fprintf(&b, " (default %s)", roff(f.DefValue))
			}
			b.WriteString("\n")
		})
	}
	flags("OPTIONS", cmd.NonInheritedFlags())
	flags("GLOBAL OPTIONS", cmd.InheritedFlags())
	var see []string
	if cmd.HasParent() {
		see = append(see, strings.ReplaceAll(cmd.Parent().CommandPath(), " ", "-")+"(1)")
	}
	for _, sub := range cmd.Commands() {
		if sub.IsAvailableCommand() {
			see = append(see, strings.ReplaceAll(sub.CommandPath(), " ", "-")+"(1)")
		}
	}
	if len(see) > 0 {
		fmt.Fprintf(&b, ".SH SEE ALSO\n%s\n", roff(strings.Join(see, ", ")))
	}
	if !cmd.HasParent() {
		b.WriteString(".SH FILES\n.TP\n/etc/posagent/posagent.yaml\nthe configuration (docs: /usr/share/doc/posagent/configuration.md)\n.TP\n/etc/posagent/env\nsecrets for the service (POSAGENT_GATEWAY_SIGN_KEY=...)\n.TP\n/var/lib/posagent/posagent.db\nthe payment journal\n")
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(b.Bytes())
	if err := zw.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".1.gz"), gz.Bytes(), 0o644); err != nil {
		return err
	}
	for _, sub := range cmd.Commands() {
		if err := writeManPages(sub, dir, date); err != nil {
			return err
		}
	}
	return nil
}

// roff escapes text for a man page: backslashes, and a leading dot or quote.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
			l = `\&` + l
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}
