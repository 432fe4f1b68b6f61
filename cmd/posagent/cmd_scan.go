package main

import (
	"errors"
	"fmt"
	_ "image/gif"  // decoders for --image
	_ "image/jpeg" // decoders for --image
	_ "image/png"  // decoders for --image
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/posagent/posagent/scanner"
)

// scanFlags are the flags of `posagent scan`.
type scanFlags struct {
	listen    string
	hid       string
	baud      int
	mode      string
	reportID  uint8
	layout    string
	tabEnds   bool
	dedup     time.Duration
	image     string
	showCodes bool
	verbose   bool
	record    string
}

func newScanCmd(g *globalFlags) *cobra.Command {
	f := &scanFlags{}
	cmd := &cobra.Command{
		Use:   "scan [CODE]",
		Short: "Send a scanned code to the daemon, or watch what a scanner sends",
		Long: `posagent scan CODE sends CODE to the running daemon as if a scanner had
read it (POST /v1/scans): a payment code goes to the payment waiting for one,
anything else is reported to the POS as an ordinary barcode.

posagent scan --listen DEVICE (a serial scanner) or --hid VID:PID[:IFACE] (a
USB HID scanner) shows what the scanner sends, decoded - the code, its AIM
symbology, and whether it is a WeChat Pay, Alipay or UnionPay payment code or
an ordinary barcode - without taking any payment, until Ctrl-C. Payment codes
are masked unless --show-codes. Stop the daemon first, or it holds the device.

posagent scan --image photo.png decodes the QR codes and barcodes in a picture.`,
		Example: `  posagent scan 134567890123456789
  posagent scan --listen /dev/ttyACM0
  posagent scan --listen /dev/serial/by-id/usb-Honeywell_Xenon-if00 --baud 115200
  posagent scan --hid 0c2e:0b61:0 --mode hidpos
  posagent scan --hid 1eab:1d10 --mode hidpos --record newland.hex
  posagent scan --image customer-phone.png --show-codes`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			modes := 0
			for _, set := range []bool{len(args) == 1, f.listen != "", f.hid != "", f.image != ""} {
				if set {
					modes++
				}
			}
			switch {
			case modes == 0:
				return errors.New("scan: give a CODE to send, or --listen DEVICE, --hid VID:PID[:IFACE] or --image FILE")
			case modes > 1:
				return errors.New("scan: CODE, --listen, --hid and --image are alternatives: use one")
			case len(args) == 1:
				code := strings.TrimSpace(args[0])
				if code == "" {
					return errors.New("scan: the code is empty")
				}
				return postScan(cmd.Context(), g, code, out)
			case f.image != "":
				return scanImage(f.image, f.showCodes, out)
			}
			return listenScanner(cmd, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "", "serial scanner device to watch (/dev/ttyACM0, /dev/serial/by-id/...)")
	fl.StringVar(&f.hid, "hid", "", "USB HID scanner to watch, as VID:PID[:IFACE] in hex (see posagent devices)")
	fl.IntVar(&f.baud, "baud", 9600, "serial baud rate")
	fl.StringVar(&f.mode, "mode", scanner.ModeKeyboard, "HID mode: keyboard (wedge) or hidpos")
	fl.Uint8Var(&f.reportID, "report-id", 0, "keyboard mode: the report id of numbered keyboard reports (0: boot reports)")
	fl.StringVar(&f.layout, "layout", "", "hidpos mode: report layout honeywell or newland (default: detect)")
	fl.BoolVar(&f.tabEnds, "tab-ends", false, "keyboard mode: Tab ends a code like Enter")
	fl.DurationVar(&f.dedup, "dedup", 0, "suppress the same code repeated within this window (the daemon's default is in its config)")
	fl.StringVar(&f.image, "image", "", "decode the codes in a picture (PNG, JPEG or GIF)")
	fl.BoolVar(&f.showCodes, "show-codes", false, "show payment codes in full (they are masked by default)")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "log connection details")
	fl.StringVar(&f.record, "record", "", "with --listen/--hid: also write every raw read to FILE in the testdata recording format (hex, one report per line) - payment codes are NOT masked there")
	return cmd
}

func scanImage(path string, show bool, out io.Writer) error {
	scans, err := scanner.DecodeImageFile(path)
	if err != nil {
		return err
	}
	for _, s := range scans {
		fmt.Fprintln(out, scanner.Describe(s, show))
	}
	return nil
}

func listenScanner(cmd *cobra.Command, f *scanFlags) error {
	level := slog.LevelError
	if f.verbose {
		level = slog.LevelDebug
	}
	w := &scanner.Watch{Serial: f.listen, Baud: f.baud, HID: f.hid, Mode: f.mode, ReportID: f.reportID, Layout: f.layout,
		Decoding: scanner.Decoding{TabEnds: f.tabEnds, DedupWindow: f.dedup}, ShowCodes: f.showCodes, RecordTo: f.record,
		Out: cmd.OutOrStdout(), Logger: slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))}
	return w.Run(cmd.Context())
}
