package main

import (
	"context"
	"errors"
	"io"

	"github.com/spf13/cobra"
)

// PLACEHOLDER (lead): the API client commands.
func placeholder(n string) *cobra.Command {
	return &cobra.Command{Use: n, Short: "(not built yet)", RunE: func(*cobra.Command, []string) error { return errors.New(n + ": not built yet") }}
}
func newRunCmd(g *globalFlags) *cobra.Command      { return placeholder("run") }
func newPayCmd(g *globalFlags) *cobra.Command      { return placeholder("pay") }
func newCancelCmd(g *globalFlags) *cobra.Command   { return placeholder("cancel") }
func newRefundCmd(g *globalFlags) *cobra.Command   { return placeholder("refund") }
func newPaymentsCmd(g *globalFlags) *cobra.Command { return placeholder("payments") }
func newShowCmd(g *globalFlags) *cobra.Command     { return placeholder("show") }
func newReceiptCmd(g *globalFlags) *cobra.Command  { return placeholder("receipt") }
func newStatusCmd(g *globalFlags) *cobra.Command   { return placeholder("status") }
func newSyncCmd(g *globalFlags) *cobra.Command     { return placeholder("sync") }
func newExportCmd(g *globalFlags) *cobra.Command   { return placeholder("export") }

// postScan sends a code to the daemon's POST /v1/scans, as if a scanner had
// read it, and prints the daemon's answer to out.
func postScan(ctx context.Context, g *globalFlags, code string, out io.Writer) error {
	return errors.New("scan: not built yet")
}
