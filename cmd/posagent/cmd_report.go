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
