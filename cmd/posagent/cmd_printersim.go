package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/spf13/cobra"

	"github.com/posagent/posagent/fonts"
	"github.com/posagent/posagent/printer"
)

// newPrinterSimCmd is `posagent printer-sim`: a virtual network receipt
// printer that renders what it receives to PNG and text files.
func newPrinterSimCmd(g *globalFlags) *cobra.Command {
	var (
		listen   string
		out      string
		paper    string
		paperOut bool
		mute     bool
		verbose  bool
		fontPath string
	)
	cmd := &cobra.Command{
		Use:   "printer-sim",
		Short: "Run a virtual ESC/POS network printer that saves each receipt as PNG, text and raw bytes",
		Long: `printer-sim listens like a network receipt printer (raw TCP, port 9100) and
interprets the ESC/POS it receives: text with bold, double size, alignment and
underline, native QR (GS ( k), raster images (GS v 0) and cuts. Each receipt
(at a cut, or when a connection ends) is written to DIR/receipt-NNNN.png, .txt
and .bin, and its path is printed. It answers real-time status requests
(DLE EOT n) with 0x12 (all clear), or as a printer out of paper with
--paper-out, or not at all with --mute.

Point the agent at it with printer.kind: network, printer.address: the --listen
address. Chinese (GB18030) is drawn with the system's CJK font (Noto Sans CJK
from fonts-noto-cjk, or --font); without one the PNGs leave it out and say
"(Chinese text omitted)", and the .txt files still have it.`,
		Example: `  posagent printer-sim --listen 127.0.0.1:9100 --out ./receipts
  posagent printer-sim --paper 58mm --paper-out`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			prof, err := printer.ProfileFor(paper)
			if err != nil {
				return fmt.Errorf("printer-sim: --paper: %w", err)
			}
			if paperOut && mute {
				return fmt.Errorf("printer-sim: --paper-out and --mute exclude each other")
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return fmt.Errorf("printer-sim: --out %s: %w", out, err)
			}
			level := slog.LevelWarn
			if verbose {
				level = slog.LevelDebug
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			cond := printer.Ready
			switch {
			case paperOut:
				cond = printer.PaperOut
			case mute:
				cond = printer.Mute
			}
			l, err := net.Listen("tcp", listen)
			if err != nil {
				return fmt.Errorf("printer-sim: listen %s: %w", listen, err)
			}
			w := cmd.OutOrStdout()
			cjk, err := fonts.Load(fontPath)
			if err != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "printer-sim: %v; Chinese is left out of the PNGs\n", err)
				cjk = nil
			} else {
				defer cjk.Close()
			}
			v := printer.NewVirtualPrinter(printer.VirtualOptions{
				Dir: out, Width: prof.Dots, Condition: cond, Logger: log, CJK: cjk,
				OnReceipt: func(r printer.VirtualReceipt) {
					fmt.Fprintf(w, "%s.png (%d lines, %d bytes)\n", r.Path, len(r.Page.Lines), len(r.Page.Raw))
				},
			})
			state := "ready"
			if paperOut {
				state = "paper out"
			} else if mute {
				state = "mute (no status replies)"
			}
			fmt.Fprintf(w, "printer-sim: listening on %s, %s paper (%d dots), %s, writing to %s\n", l.Addr(), prof.Paper, prof.Dots, state, out)
			return v.Run(cmd.Context(), l)
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:9100", "address to accept ESC/POS connections on")
	f.StringVar(&out, "out", "receipts", "directory for receipt-NNNN.png/.txt/.bin")
	f.StringVar(&paper, "paper", "80mm", "paper width: 58mm (384 dots) or 80mm (576 dots)")
	f.BoolVar(&paperOut, "paper-out", false, "simulate a printer out of paper (status replies say so)")
	f.BoolVar(&mute, "mute", false, "never answer status requests (a printer without DLE EOT)")
	f.BoolVarP(&verbose, "verbose", "v", false, "log every connection and receipt")
	f.StringVar(&fontPath, "font", "", "CJK font file for Chinese in the PNGs (default: find Noto Sans CJK)")
	_ = g
	return cmd
}
