package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	_ "time/tzdata" // merchant.timezone on terminals without /usr/share/zoneinfo (Android)

	"github.com/spf13/cobra"

	"github.com/posagent/posagent/client"
)

// newShiftCmd is posagent shift open|close|show.
func newShiftCmd(g *globalFlags) *cobra.Command {
	var operator string
	var print bool
	cmd := &cobra.Command{Use: "shift", Short: "Open or close the lane's shift (closing prints nothing unless --print; it writes the Z report)"}
	// show prints what do answers, as the API's JSON.
	show := func(cmd *cobra.Command, do func(context.Context, *client.Client) (any, error)) error {
		c, err := newAPIClient(g)
		if err != nil {
			return err
		}
		v, err := do(cmd.Context(), c)
		if err != nil {
			return err
		}
		return writeJSONOut(cmd.OutOrStdout(), v)
	}
	open := &cobra.Command{Use: "open", Short: "Open a shift (a manager's; the first payment opens one if nobody did)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(cmd, func(ctx context.Context, c *client.Client) (any, error) { return c.OpenShift(ctx, operator) })
		}}
	closeCmd := &cobra.Command{Use: "close", Short: "Close the open shift with its Z report (a manager's)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(cmd, func(ctx context.Context, c *client.Client) (any, error) { return c.CloseShift(ctx, operator, print) })
		}}
	cur := &cobra.Command{Use: "show", Short: "Show the open shift", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(cmd, func(ctx context.Context, c *client.Client) (any, error) {
				sh, err := c.CurrentShift(ctx)
				return map[string]any{"shift": sh}, err
			})
		}}
	for _, c := range []*cobra.Command{open, closeCmd} {
		c.Flags().StringVar(&operator, "operator", "", "who opens or closes it (an operator id)")
	}
	closeCmd.Flags().BoolVar(&print, "print", false, "print the Z report on the receipt printer")
	cmd.AddCommand(open, closeCmd, cur)
	return cmd
}

// newReportCmd is posagent report x|z [N] [--print] [--png F] [--format json|csv]
// and posagent report reconcile N.
func newReportCmd(g *globalFlags) *cobra.Command {
	var print bool
	var pngPath, format, paper string
	cmd := &cobra.Command{
		Use:   "report x|z [N]|reconcile N",
		Short: "X report (the open shift so far), Z report N (the last when N is left out), or reconcile Z report N with OTTPay",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "json" && format != "csv" {
				return fmt.Errorf("--format %q: use json or csv", format)
			}
			c, err := newAPIClient(g)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			var z uint64 // 0: the X report
			switch {
			case args[0] == "x" && len(args) == 1:
			case args[0] == "z" && len(args) == 1:
				if z, err = lastZ(ctx, c); err != nil {
					return err
				}
			case args[0] == "z", args[0] == "reconcile" && len(args) == 2:
				if z, err = strconv.ParseUint(args[1], 10, 64); err != nil || z == 0 {
					return fmt.Errorf("report %s %q: give the Z report's number (a positive integer)", args[0], args[1])
				}
				if args[0] == "reconcile" {
					b, err := c.ReconcileFile(ctx, z, format)
					if err != nil {
						return err
					}
					_, err = cmd.OutOrStdout().Write(b)
					return err
				}
			default:
				return errors.New("usage: posagent report x | z [N] | reconcile N")
			}
			file := func(format, paper string) ([]byte, error) {
				if z == 0 {
					return c.XReportFile(ctx, format, paper)
				}
				return c.ZReportFile(ctx, z, format, paper)
			}
			if print {
				if z == 0 {
					_, err = c.PrintXReport(ctx)
				} else {
					_, err = c.PrintZReport(ctx, z)
				}
				if err != nil {
					return err
				}
			}
			if pngPath != "" {
				b, err := file(client.FormatPNG, paper)
				if err != nil {
					return err
				}
				if err := os.WriteFile(pngPath, b, 0o644); err != nil {
					return err
				}
			}
			b, err := file(format, "")
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
	cmd.Flags().BoolVar(&print, "print", false, "print it on the receipt printer (a Z report is marked REPRINT)")
	cmd.Flags().StringVar(&pngPath, "png", "", "also write it as a PNG, as the printer prints it")
	cmd.Flags().StringVar(&paper, "paper", "", "58mm or 80mm for --png (default: the configured printer's)")
	cmd.Flags().StringVar(&format, "format", "json", "json or csv")
	return cmd
}

// lastZ is the newest Z report's number.
func lastZ(ctx context.Context, c *client.Client) (uint64, error) {
	zs, err := c.ZReports(ctx)
	if err != nil {
		return 0, err
	}
	if len(zs) == 0 {
		return 0, errors.New("no Z report yet: close a shift with posagent shift close")
	}
	return zs[0].No, nil
}
