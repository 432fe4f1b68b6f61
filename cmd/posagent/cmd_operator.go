package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/config"
)

func newOperatorCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "operator",
		Short: "Cashiers and managers (operators: in the config)",
	}
	var id, name, role, ottpay string
	var write bool
	add := &cobra.Command{
		Use:   "add --id ID --name NAME --role cashier|manager [--ottpay-id N] [--write]",
		Short: "Make an operators[] entry with a hashed PIN (read from stdin, never stored or shown)",
		Long: `Make an operators[] entry. The PIN (4 to 12 digits) is read from the first
line of standard input and only its bcrypt hash is written. Without --write
the entry is printed, to paste under operators: in the config; with --write
it is added to the config file (--config). Then reload or restart the agent.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			op := config.Operator{ID: id, Name: name, Role: role, OTTPayID: ottpay}
			fmt.Fprint(cmd.ErrOrStderr(), "PIN (4-12 digits; empty for none): ")
			line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
			if err != nil && err != io.EOF {
				return fmt.Errorf("operator add: read the PIN: %w", err)
			}
			fmt.Fprintln(cmd.ErrOrStderr())
			if pin := strings.TrimSpace(line); pin != "" {
				if op.PINHash, err = api.HashPIN(pin); err != nil {
					return fmt.Errorf("operator add: %w", err)
				}
			}
			// The entry must pass the config's own checks.
			probe := config.Config{Operators: []config.Operator{op}}
			for _, p := range probe.Problems() {
				if strings.HasPrefix(p.Key, "operators[") {
					return fmt.Errorf("operator add: %s", p.Msg)
				}
			}
			entry := operatorYAML(op)
			if !write {
				fmt.Fprintf(cmd.OutOrStdout(), "operators:\n%s", entry)
				return nil
			}
			path := g.configPath
			if path == "" {
				_, src, err := config.Load("", os.Environ())
				if err != nil && src.File == "" {
					return err
				}
				path = src.File
			}
			if path == "" {
				return fmt.Errorf("operator add --write: no config file: give --config")
			}
			return addOperator(path, entry)
		},
	}
	add.Flags().StringVar(&id, "id", "", "operator id (letters, digits, - or _), e.g. m1")
	add.Flags().StringVar(&name, "name", "", "the person's name")
	add.Flags().StringVar(&role, "role", "cashier", "cashier or manager")
	add.Flags().StringVar(&ottpay, "ottpay-id", "", "the 10-digit operator_id OTTPay knows them by")
	add.Flags().BoolVar(&write, "write", false, "add the entry to the config file")
	cmd.AddCommand(add)
	return cmd
}

func operatorYAML(op config.Operator) string {
	var b strings.Builder
	fmt.Fprintf(&b, "  - id: %s\n    name: %q\n    role: %s\n", op.ID, op.Name, op.Role)
	if op.PINHash != "" {
		fmt.Fprintf(&b, "    pin_hash: %q\n", op.PINHash)
	}
	if op.OTTPayID != "" {
		fmt.Fprintf(&b, "    ottpay_id: %q\n", op.OTTPayID)
	}
	return b.String()
}

// addOperator adds an entry under operators: in the file (made if absent),
// keeping the rest of the file as it is.
func addOperator(path, entry string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("operator add: %w", err)
	}
	lines := strings.SplitAfter(string(b), "\n")
	out, done := "", false
	for _, l := range lines {
		t := strings.TrimRight(l, "\r\n")
		switch {
		case !done && (t == "operators: []" || strings.HasPrefix(t, "operators: [] ")):
			out += "operators:\n" + entry
			done = true
		case !done && t == "operators:":
			out += l + entry
			done = true
		default:
			out += l
		}
	}
	if !done {
		if !strings.HasSuffix(out, "\n") && out != "" {
			out += "\n"
		}
		out += "operators:\n" + entry
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("operator add: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(out), fi.Mode().Perm()); err != nil {
		return fmt.Errorf("operator add: %w", err)
	}
	if _, _, err := config.Load(tmp, nil); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("operator add: the file would not load with the entry (%v): add it by hand", err)
	}
	return os.Rename(tmp, path)
}

func newAuditCmd(g *globalFlags) *cobra.Command {
	var since string
	var limit int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "audit [--since T] [--limit N] [--json]",
		Short: "The audit trail: who moved money or changed a setting, from where, and what came of it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := newAPIClient(g)
			if err != nil {
				return err
			}
			var from time.Time
			if since != "" {
				if from, err = parseSince(since, time.Now()); err != nil {
					return err
				}
			}
			if limit < 1 {
				return fmt.Errorf("--limit %d: give a positive number", limit)
			}
			entries, err := c.AuditTrail(cmd.Context(), from, limit)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSONOut(cmd.OutOrStdout(), map[string]any{"audit": entries})
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TIME\tACTION\tCREDENTIAL\tOPERATOR\tAPPROVER\tCLIENT\tPAYMENT\tAMOUNT\tRESULT")
			for _, a := range entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d %s\n", a.At.Local().Format(time.DateTime), a.Action, a.Credential,
					dash(a.Operator), dash(a.Approver), a.Client, dash(a.Payment), a.Amount, a.Status, a.Result)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "from this time (RFC 3339 or YYYY-MM-DD)")
	cmd.Flags().IntVar(&limit, "limit", 100, "the newest this many entries")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the API's JSON")
	return cmd
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// apiTLS is doctor's line about the API's transport: the certificate's
// fingerprint for the POS to pin, or a warning about plain HTTP on the LAN.
func (d *doctor) apiTLS(cfg *config.Config) {
	fp, err := fingerprintOf(cfg)
	switch {
	case err != nil && cfg.API.TLSAuto():
		d.ok("api", "TLS auto: the certificate is made on the first start (then doctor prints its fingerprint)")
	case err != nil:
		d.fail("api", "TLS certificate: %v", err)
	case fp != "":
		d.ok("api", "TLS; certificate SHA-256 fingerprint for the POS to pin: %s", fp)
	case !config.IsLoopback(cfg.API.Listen):
		d.warn("api", "plain HTTP on %s: tokens and payments cross the LAN readable; set api.tls.cert: auto", cfg.API.Listen)
	default:
		d.ok("api", "plain HTTP on loopback %s", cfg.API.Listen)
	}
}
