package scanner

import (
	"context"
	"fmt"
	"image"
	_ "image/gif"  // decoders for DecodeImageFile
	_ "image/jpeg" // decoders for DecodeImageFile
	_ "image/png"  // decoders for DecodeImageFile
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/posagent/posagent/drivers/serial"
	"github.com/posagent/posagent/drivers/usbhid"
)

// DecodeImageFile decodes the QR codes and barcodes in the picture (PNG,
// JPEG or GIF) at path, as `posagent scan --image` does.
func DecodeImageFile(path string) ([]Scan, error) {
	file, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("scan: image: %w", err)
	}
	defer file.Close()
	img, format, err := image.Decode(file)
	if err != nil {
		return nil, fmt.Errorf("scan: image %s: not a PNG, JPEG or GIF picture: %w", path, err)
	}
	scans, err := DecodeImage(img)
	if err != nil {
		return nil, fmt.Errorf("scan: image %s (%s, %dx%d): %w", path, format, img.Bounds().Dx(), img.Bounds().Dy(), err)
	}
	return scans, nil
}

// Watch shows what one scanner sends, decoded, without taking any payment:
// `posagent scan --listen` (a serial scanner) or `--hid` (a USB HID one).
// Each state change and each code is a line on Out; payment codes are
// masked unless ShowCodes.
type Watch struct {
	Serial   string // serial device; "" for HID
	Baud     int
	HID      string // VID:PID[:IFACE] when Serial is ""
	Mode     string // HID mode: keyboard or hidpos
	ReportID uint8
	Layout   string // hidpos report layout ("" detect)
	Decoding Decoding
	// ShowCodes shows payment codes in full.
	ShowCodes bool
	// RecordTo, when set, also gets every raw read in the testdata
	// recording format (unmasked).
	RecordTo string
	Out      io.Writer
	Logger   *slog.Logger
}

// Run watches the scanner until ctx ends, then prints "stopped".
func (w *Watch) Run(ctx context.Context) error {
	out := w.Out
	onState := func(s Status) {
		switch s.State {
		case StateConnected:
			fmt.Fprintf(out, "%s  connected - scan something (Ctrl-C to stop)\n", s.At.Format("15:04:05.000"))
		default:
			fmt.Fprintf(out, "%s  %s: %s\n", s.At.Format("15:04:05.000"), s.State, s.Err)
		}
	}
	emit := func(s Scan) {
		fmt.Fprintf(out, "%s  %s\n", s.At.Format("15:04:05.000"), Describe(s, w.ShowCodes))
	}
	record, closeRec, err := w.recorder()
	if err != nil {
		return err
	}
	defer closeRec()
	if w.Serial != "" {
		port := serial.Config{Device: w.Serial, Baud: w.Baud}
		if err := port.Validate(); err != nil {
			return fmt.Errorf("scan: %w", err)
		}
		src := &SerialSource{Name: w.Serial, Port: port, Decoding: w.Decoding, Logger: w.Logger, OnState: onState,
			Open: func(c serial.Config) (io.ReadCloser, error) {
				p, err := serial.Open(c)
				if err != nil {
					return nil, err
				}
				return record(p), nil
			}}
		fmt.Fprintf(out, "watching serial scanner %s at %d baud\n", w.Serial, w.Baud)
		err = src.Run(ctx, emit)
	} else {
		sel, perr := usbhid.ParseSelector(w.HID)
		if perr != nil {
			return fmt.Errorf("scan: --hid: %w", perr)
		}
		if !usbhid.Supported() {
			return fmt.Errorf("scan: --hid: %w", usbhid.ErrUnsupported)
		}
		src := &HIDSource{Name: sel.String(), Device: usbhid.Config{Selector: sel}, Mode: w.Mode,
			ReportID: w.ReportID, POS: HIDPOSOptions{Layout: w.Layout}, Decoding: w.Decoding, Logger: w.Logger, OnState: onState,
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
		fmt.Fprintf(out, "watching HID scanner %s in %s mode (a keyboard-wedge scanner stops typing elsewhere while watched)\n", sel, w.Mode)
		err = src.Run(ctx, emit)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(out, "stopped")
	return nil
}

// recorder opens RecordTo (appending, 0600) and returns what wraps a
// device so its raw reads are also written there, and what closes it.
func (w *Watch) recorder() (func(io.ReadCloser) io.ReadCloser, func(), error) {
	if w.RecordTo == "" {
		return func(rc io.ReadCloser) io.ReadCloser { return rc }, func() {}, nil
	}
	file, err := os.OpenFile(w.RecordTo, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, fmt.Errorf("scan: --record: %w", err)
	}
	dev := w.Serial
	if dev == "" {
		dev = "HID " + w.HID + " mode " + w.Mode
	}
	fmt.Fprintf(file, "# recorded by posagent scan from %s on %s\n", dev, time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(w.Out, "recording raw reads to %s (unmasked: delete it after use if it holds payment codes)\n", w.RecordTo)
	return func(rc io.ReadCloser) io.ReadCloser { return Record(rc, file, nil) }, func() { file.Close() }, nil
}
