package main

import (
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/posagent/posagent/printer"
)

// newPrinterSimCmd is `posagent printer-sim`: a virtual network receipt
// printer that renders what it receives to PNG and text files.
func newPrinterSimCmd(g *globalFlags) *cobra.Command {
	var s printerSim
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
		RunE: func(cmd *cobra.Command, _ []string) error { return s.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&s.Listen, "listen", "127.0.0.1:9100", "address to accept ESC/POS connections on")
	f.StringVar(&s.Dir, "out", "receipts", "directory for receipt-NNNN.png/.txt/.bin")
	f.StringVar(&s.Paper, "paper", "80mm", "paper width: 58mm (384 dots) or 80mm (576 dots)")
	f.BoolVar(&s.PaperOut, "paper-out", false, "simulate a printer out of paper (status replies say so)")
	f.BoolVar(&s.Mute, "mute", false, "never answer status requests (a printer without DLE EOT)")
	f.BoolVarP(&s.verbose, "verbose", "v", false, "log every connection and receipt")
	f.StringVar(&s.FontPath, "font", "", "CJK font file for Chinese in the PNGs (default: find Noto Sans CJK)")
	_ = g
	return cmd
}

// printerSim is what `posagent printer-sim` runs with: its flags.
type printerSim struct {
	printer.SimConfig
	verbose bool
}

// run starts the virtual printer (printer.StartSim) and serves it until the
// command's context ends.
func (s *printerSim) run(cmd *cobra.Command) error {
	level := slog.LevelWarn
	if s.verbose {
		level = slog.LevelDebug
	}
	s.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	w := cmd.OutOrStdout()
	s.OnReceipt = func(r printer.VirtualReceipt) {
		fmt.Fprintf(w, "%s.png (%d lines, %d bytes)\n", r.Path, len(r.Page.Lines), len(r.Page.Raw))
	}
	sim, err := printer.StartSim(s.SimConfig)
	if err != nil {
		return err
	}
	if sim.FontErr != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "printer-sim: %v; Chinese is left out of the PNGs\n", sim.FontErr)
	}
	prof := sim.Profile
	fmt.Fprintf(w, "printer-sim: listening on %s, %s paper (%d dots), %s, writing to %s\n", sim.Addr(), prof.Paper, prof.Dots, sim.State(), s.Dir)
	return sim.Run(cmd.Context())
}
