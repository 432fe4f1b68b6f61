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
	f.StringVar(&s.listen, "listen", "127.0.0.1:9100", "address to accept ESC/POS connections on")
	f.StringVar(&s.out, "out", "receipts", "directory for receipt-NNNN.png/.txt/.bin")
	f.StringVar(&s.paper, "paper", "80mm", "paper width: 58mm (384 dots) or 80mm (576 dots)")
	f.BoolVar(&s.paperOut, "paper-out", false, "simulate a printer out of paper (status replies say so)")
	f.BoolVar(&s.mute, "mute", false, "never answer status requests (a printer without DLE EOT)")
	f.BoolVarP(&s.verbose, "verbose", "v", false, "log every connection and receipt")
	f.StringVar(&s.fontPath, "font", "", "CJK font file for Chinese in the PNGs (default: find Noto Sans CJK)")
	_ = g
	return cmd
}

// printerSim is what `posagent printer-sim` runs with: its flags.
type printerSim struct {
	listen   string
	out      string
	paper    string
	paperOut bool
	mute     bool
	verbose  bool
	fontPath string
}

// run checks the flags, listens and runs the virtual printer until the
// command's context ends.
func (s *printerSim) run(cmd *cobra.Command) error {
	prof, err := printer.ProfileFor(s.paper)
	if err != nil {
		return fmt.Errorf("printer-sim: --paper: %w", err)
	}
	if s.paperOut && s.mute {
		return fmt.Errorf("printer-sim: --paper-out and --mute exclude each other")
	}
	if err := os.MkdirAll(s.out, 0o755); err != nil {
		return fmt.Errorf("printer-sim: --out %s: %w", s.out, err)
	}
	level := slog.LevelWarn
	if s.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	l, err := net.Listen("tcp", s.listen)
	if err != nil {
		return fmt.Errorf("printer-sim: listen %s: %w", s.listen, err)
	}
	w := cmd.OutOrStdout()
	cjk, err := fonts.Load(s.fontPath)
	if err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "printer-sim: %v; Chinese is left out of the PNGs\n", err)
		cjk = nil
	} else {
		defer cjk.Close()
	}
	v := printer.NewVirtualPrinter(printer.VirtualOptions{
		Dir: s.out, Width: prof.Dots, Condition: s.condition(), Logger: log, CJK: cjk,
		OnReceipt: func(r printer.VirtualReceipt) {
			fmt.Fprintf(w, "%s.png (%d lines, %d bytes)\n", r.Path, len(r.Page.Lines), len(r.Page.Raw))
		},
	})
	fmt.Fprintf(w, "printer-sim: listening on %s, %s paper (%d dots), %s, writing to %s\n", l.Addr(), prof.Paper, prof.Dots, s.state(), s.out)
	return v.Run(cmd.Context(), l)
}

// condition is the status the virtual printer answers with.
func (s *printerSim) condition() printer.Condition {
	switch {
	case s.paperOut:
		return printer.PaperOut
	case s.mute:
		return printer.Mute
	}
	return printer.Ready
}

// state words the condition for the start-up line.
func (s *printerSim) state() string {
	if s.paperOut {
		return "paper out"
	} else if s.mute {
		return "mute (no status replies)"
	}
	return "ready"
}
