package printer

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/posagent/posagent/drivers/serial"
)

// Opener opens a connection to a printer. The connection is an
// io.WriteCloser; when it is also an io.Reader the Printer reads status
// replies from it (DLE EOT), else the status is "unknown". Connections
// with SetWriteDeadline / SetReadDeadline (net.Conn, pollable files) get
// deadlines; every connection is closed when the context ends, which
// unblocks a write or read in progress.
type Opener func(ctx context.Context) (io.WriteCloser, error)

// DefaultDialTimeout bounds a TCP connect when the Opener is given none.
const DefaultDialTimeout = 3 * time.Second

// TCP opens a raw TCP connection (port 9100, "JetDirect") to addr.
// Readable: status is queried.
func TCP(addr string, dialTimeout time.Duration) Opener {
	if dialTimeout <= 0 {
		dialTimeout = DefaultDialTimeout
	}
	return func(ctx context.Context) (io.WriteCloser, error) {
		d := net.Dialer{Timeout: dialTimeout}
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("printer: dial %s: %w: %w", addr, ErrUnreachable, err)
		}
		return c, nil
	}
}

// USB opens a USB printer class device (/dev/usb/lp0). bidirectional
// opens it read-write and reads status replies; many printers answer on
// the USB IN endpoint, but some never do (then use false, or the Printer's
// SkipStatus). Write-only devices report status "unknown".
func USB(device string, bidirectional bool) Opener {
	return func(ctx context.Context) (io.WriteCloser, error) {
		flag := os.O_WRONLY
		if bidirectional {
			flag = os.O_RDWR
		}
		f, err := os.OpenFile(device, flag, 0)
		if err != nil {
			return nil, fmt.Errorf("printer: open %s: %w: %w", device, ErrUnreachable, err)
		}
		if !bidirectional {
			return writeOnly{f}, nil
		}
		return f, nil
	}
}

// File appends to a file (created 0644 if missing): for tests, spooling
// and bridges. Write-only: status is "unknown".
func File(path string) Opener {
	return func(ctx context.Context) (io.WriteCloser, error) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("printer: open %s: %w: %w", path, ErrUnreachable, err)
		}
		return writeOnly{f}, nil
	}
}

// Serial opens a serial printer through drivers/serial (reads time out
// after cfg.ReadTimeout and return no data, so status reads are bounded).
func Serial(cfg serial.Config) Opener {
	return func(ctx context.Context) (io.WriteCloser, error) {
		p, err := serial.Open(cfg)
		if err != nil {
			return nil, fmt.Errorf("printer: open %s: %w: %w", cfg.Device, ErrUnreachable, err)
		}
		return p, nil
	}
}

// writeOnly hides Read (and deadlines) of a file opened write-only.
type writeOnly struct{ io.WriteCloser }
