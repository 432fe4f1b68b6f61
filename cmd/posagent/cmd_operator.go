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
			entry := config.OperatorYAML(op)
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
			return config.AddOperator(path, entry)
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
