package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"time"
	_ "time/tzdata" // merchant.timezone on terminals without /usr/share/zoneinfo (Android)

	"github.com/spf13/cobra"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/printer"
)

// newShiftCmd is posagent shift open|close|show.
func newShiftCmd(g *globalFlags) *cobra.Command {
	var operator string
	var print bool
	cmd := &cobra.Command{Use: "shift", Short: "Open or close the lane's shift (closing prints nothing unless --print; it writes the Z report)"}
	show := func(cmd *cobra.Command, method, path string, body any) error {
		c, err := newAPIClient(g)
		if err != nil {
			return err
		}
		var b []byte
		key := ""
		if method == "POST" {
			key = fmt.Sprintf("cli-shift-%d", time.Now().UnixNano())
		}
		if err := c.do(cmd.Context(), method, path, body, key, &b); err != nil {
			return err
		}
		_, err = cmd.OutOrStdout().Write(b)
		return err
	}
	open := &cobra.Command{Use: "open", Short: "Open a shift (a manager's; the first payment opens one if nobody did)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(cmd, "POST", "/v1/shifts/open", map[string]any{"operator": operator})
		}}
	closeCmd := &cobra.Command{Use: "close", Short: "Close the open shift with its Z report (a manager's)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return show(cmd, "POST", "/v1/shifts/close", map[string]any{"operator": operator, "print": print})
		}}
	cur := &cobra.Command{Use: "show", Short: "Show the open shift", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return show(cmd, "GET", "/v1/shifts/current", nil) }}
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
			var path string
			switch {
			case args[0] == "x" && len(args) == 1:
				path = "/v1/reports/x"
			case args[0] == "z":
				n := ""
				if len(args) == 2 {
					n = args[1]
				} else if n, err = lastZ(ctx, c); err != nil {
					return err
				}
				path = "/v1/reports/z/" + n
			case args[0] == "reconcile" && len(args) == 2:
				var b []byte
				if err := c.do(ctx, "POST", "/v1/reports/z/"+url.PathEscape(args[1])+"/reconcile?format="+format, nil, "", &b); err != nil {
					return err
				}
				_, err = cmd.OutOrStdout().Write(b)
				return err
			default:
				return errors.New("usage: posagent report x | z [N] | reconcile N")
			}
			if print {
				if err := c.do(ctx, "POST", path+"/print", map[string]any{}, "", nil); err != nil {
					return err
				}
			}
			if pngPath != "" {
				var b []byte
				q := url.Values{"format": {"png"}}
				if paper != "" {
					q.Set("paper", paper)
				}
				if err := c.do(ctx, "GET", path+"?"+q.Encode(), nil, "", &b); err != nil {
					return err
				}
				if err := os.WriteFile(pngPath, b, 0o644); err != nil {
					return err
				}
			}
			var b []byte
			if err := c.do(ctx, "GET", path+"?format="+format, nil, "", &b); err != nil {
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
func lastZ(ctx context.Context, c *apiClient) (string, error) {
	var list struct {
		Reports []struct {
			No uint64 `json:"no"`
		} `json:"reports"`
	}
	if err := c.do(ctx, "GET", "/v1/reports/z", nil, "", &list); err != nil {
		return "", err
	}
	if len(list.Reports) == 0 {
		return "", errors.New("no Z report yet: close a shift with posagent shift close")
	}
	return strconv.FormatUint(list.Reports[0].No, 10), nil
}

// shopLocation is merchant.timezone (validated by Load), else the system's.
func shopLocation(cfg *config.Config) *time.Location {
	loc, err := cfg.Location()
	if err != nil {
		return time.Local
	}
	return loc
}

// PrintReport prints a report on the current printer, in its profile.
func (lp *livePrinter) PrintReport(ctx context.Context, r printer.Report) error {
	return lp.printDocument(ctx, "reports", func(p printer.Profile) []byte { return printer.EncodeReport(r, p) })
}

// RenderReport draws a report as the current printer would print it.
func (lp *livePrinter) RenderReport(r printer.Report) ([]byte, error) {
	return printer.RenderReportPNG(r, lp.profile())
}

// printDocument prints what encode makes for the current printer's
// profile (a report, a placard), counted as a job so that a reload lets it
// finish on the printer it started on.
func (lp *livePrinter) printDocument(ctx context.Context, what string, encode func(printer.Profile) []byte) error {
	lp.mu.Lock()
	g := lp.gen
	g.jobs.Add(1)
	lp.mu.Unlock()
	defer g.jobs.Done()
	if g.prn == nil {
		return fmt.Errorf("printer: %s are printed on a printer the agent drives (not printer.kind none or bridge)", what)
	}
	return g.prn.Print(ctx, encode(g.prof))
}

// profile is the current printer's profile.
func (lp *livePrinter) profile() printer.Profile {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return lp.gen.prof
}
