package main

import (
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // decoders for --image
	_ "image/jpeg" // decoders for --image
	_ "image/png"  // decoders for --image
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/posagent/posagent/drivers/serial"
	"github.com/posagent/posagent/drivers/usbhid"
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
	file, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("scan: image: %w", err)
	}
	defer file.Close()
	img, format, err := image.Decode(file)
	if err != nil {
		return fmt.Errorf("scan: image %s: not a PNG, JPEG or GIF picture: %w", path, err)
	}
	scans, err := scanner.DecodeImage(img)
	if err != nil {
		return fmt.Errorf("scan: image %s (%s, %dx%d): %w", path, format, img.Bounds().Dx(), img.Bounds().Dy(), err)
	}
	for _, s := range scans {
		fmt.Fprintln(out, scanner.Describe(s, show))
	}
	return nil
}

func listenScanner(cmd *cobra.Command, f *scanFlags) error {
	out := cmd.OutOrStdout()
	level := slog.LevelError
	if f.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	onState := func(s scanner.Status) {
		switch s.State {
		case scanner.StateConnected:
			fmt.Fprintf(out, "%s  connected - scan something (Ctrl-C to stop)\n", s.At.Format("15:04:05.000"))
		default:
			fmt.Fprintf(out, "%s  %s: %s\n", s.At.Format("15:04:05.000"), s.State, s.Err)
		}
	}
	emit := func(s scanner.Scan) {
		fmt.Fprintf(out, "%s  %s\n", s.At.Format("15:04:05.000"), scanner.Describe(s, f.showCodes))
	}
	dec := scanner.Decoding{TabEnds: f.tabEnds, DedupWindow: f.dedup}
	record := func(rc io.ReadCloser) io.ReadCloser { return rc }
	if f.record != "" {
		file, err := os.OpenFile(f.record, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("scan: --record: %w", err)
		}
		defer file.Close()
		dev := f.listen
		if dev == "" {
			dev = "HID " + f.hid + " mode " + f.mode
		}
		fmt.Fprintf(file, "# recorded by posagent scan from %s on %s\n", dev, time.Now().UTC().Format(time.RFC3339))
		record = func(rc io.ReadCloser) io.ReadCloser { return scanner.Record(rc, file, nil) }
		fmt.Fprintf(out, "recording raw reads to %s (unmasked: delete it after use if it holds payment codes)\n", f.record)
	}
	var err error
	if f.listen != "" {
		if err := (serial.Config{Device: f.listen, Baud: f.baud}).Validate(); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		src := &scanner.SerialSource{Name: f.listen, Port: serial.Config{Device: f.listen, Baud: f.baud},
			Decoding: dec, Logger: log, OnState: onState,
			Open: func(c serial.Config) (io.ReadCloser, error) {
				p, err := serial.Open(c)
				if err != nil {
					return nil, err
				}
				return record(p), nil
			}}
		fmt.Fprintf(out, "watching serial scanner %s at %d baud\n", f.listen, f.baud)
		err = src.Run(cmd.Context(), emit)
	} else {
		sel, perr := usbhid.ParseSelector(f.hid)
		if perr != nil {
			return fmt.Errorf("scan: --hid: %w", perr)
		}
		if !usbhid.Supported() {
			return fmt.Errorf("scan: --hid: %w", usbhid.ErrUnsupported)
		}
		src := &scanner.HIDSource{Name: sel.String(), Device: usbhid.Config{Selector: sel}, Mode: f.mode,
			ReportID: f.reportID, POS: scanner.HIDPOSOptions{Layout: f.layout}, Decoding: dec, Logger: log, OnState: onState,
			Open: func() (io.ReadCloser, error) {
				d, err := usbhid.Open(usbhid.Config{Selector: sel})
				if err != nil {
					return nil, err
				}
				return record(d), nil
			}}
		if _, derr := src.NewDecoder(); derr != nil {
			return fmt.Errorf("scan: %w", derr)
		}
		fmt.Fprintf(out, "watching HID scanner %s in %s mode (a keyboard-wedge scanner stops typing elsewhere while watched)\n", sel, f.mode)
		err = src.Run(cmd.Context(), emit)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "stopped")
	return nil
}
