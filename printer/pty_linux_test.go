package printer

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/posagent/posagent/drivers/serial"
)

// The USB transport on a pseudo-terminal: a real character device, read
// and written like /dev/usb/lp0; the virtual printer serves the other side.
func TestUSBTransportOnPTY(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	name := slave.Name()
	if err := makeRaw(slave); err != nil {
		t.Fatal(err)
	}
	v := NewVirtualPrinter(VirtualOptions{Width: 384})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Serve(ctx, master) }()
	// The slave stays open between prints (as a device node would); closing
	// it at the end hangs up the master, which ends Serve's blocked read.
	defer func() { cancel(); slave.Close(); <-done }()

	for _, bidi := range []bool{true, false} {
		pr, err := New(Options{Open: USB(name, bidi), Profile: Profile58(), StatusTimeout: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		st, err := pr.Status(ctx)
		if err != nil || st.Known != bidi {
			t.Errorf("bidirectional=%v: Status = %+v, %v", bidi, st, err)
		}
		if bidi && st.State() != "ok" {
			t.Errorf("status over pty %q, want ok", st.State())
		}
		if err := pr.PrintReceipt(ctx, sampleReceipt()); err != nil {
			t.Fatalf("bidirectional=%v: %v", bidi, err)
		}
	}
	waitFor(t, func() bool { return len(v.Receipts()) == 2 })
	if !strings.Contains(v.Receipts()[0].Page.Text(), "12.50 CAD") {
		t.Errorf("receipt over pty:\n%s", v.Receipts()[0].Page.Text())
	}
	if _, err := USB("/nonexistent/lp0", false)(ctx); !errors.Is(err, ErrUnreachable) {
		t.Errorf("missing device: %v", err)
	}
}

// The serial transport through drivers/serial on a pseudo-terminal.
func TestSerialTransportOnPTY(t *testing.T) {
	master, slave, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	name := slave.Name()
	v := NewVirtualPrinter(VirtualOptions{Width: 576})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- v.Serve(ctx, master) }()
	// The slave stays open between prints (as a device node would); closing
	// it at the end hangs up the master, which ends Serve's blocked read.
	defer func() { cancel(); slave.Close(); <-done }()

	pr, err := New(Options{Open: Serial(serial.Config{Device: name, Baud: 115200, ReadTimeout: 100 * time.Millisecond}), Profile: Profile80()})
	if err != nil {
		t.Fatal(err)
	}
	if err := pr.PrintReceipt(ctx, sampleReceipt()); err != nil {
		t.Fatalf("serial print: %v", err)
	}
	waitFor(t, func() bool { return len(v.Receipts()) == 1 })
	v.SetCondition(PaperOut)
	if err := pr.PrintReceipt(ctx, sampleReceipt()); !errors.Is(err, ErrPaperOut) {
		t.Errorf("serial, paper out: %v", err)
	}
	if _, err := Serial(serial.Config{Device: "/nonexistent/ttyS9"})(ctx); !errors.Is(err, ErrUnreachable) || !errors.Is(err, serial.ErrNotFound) {
		t.Errorf("missing serial device: %v", err)
	}
}

// makeRaw puts a terminal in raw mode (cfmakeraw), as a printer line is.
func makeRaw(f *os.File) error {
	fd := int(f.Fd())
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return err
	}
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag &^= unix.CSIZE | unix.PARENB
	tio.Cflag |= unix.CS8
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 1, 0
	return unix.IoctlSetTermios(fd, unix.TCSETS, tio)
}
