package mangen

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Options are what the pages say beyond the commands.
type Options struct {
	Date   string // in the footer (reproducible builds pass one)
	Source string // "posagent 1.2.3"
	Manual string // "posagent manual"
	// Files is the FILES section of the root command's page: each path
	// with what it is.
	Files [][2]string
}

// Write writes NAME.1.gz and NAME-SUB[-SUB].1.gz (gzipped roff, section 1)
// into dir for cmd and every visible command under it, from its Use,
// Short, Long and flags.
func Write(cmd *cobra.Command, dir string, o Options) error {
	if cmd.Hidden || (!cmd.IsAvailableCommand() && cmd.HasParent()) {
		return nil
	}
	name := strings.ReplaceAll(cmd.CommandPath(), " ", "-")
	var b bytes.Buffer
	fmt.Fprintf(&b, ".TH %s 1 %q %q %q\n", strings.ToUpper(name), o.Date, o.Source, o.Manual)
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
	if !cmd.HasParent() && len(o.Files) > 0 {
		b.WriteString(".SH FILES\n")
		for _, f := range o.Files {
			fmt.Fprintf(&b, ".TP\n%s\n%s\n", f[0], f[1])
		}
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
		if err := Write(sub, dir, o); err != nil {
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
