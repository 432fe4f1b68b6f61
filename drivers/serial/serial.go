package serial

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	tarm "github.com/tarm/serial"
)

// Defaults applied by Open to zero fields of Config.
const (
	DefaultBaud        = 9600
	DefaultReadTimeout = 100 * time.Millisecond
	// MaxReadTimeout is the longest timeout termios can express (VTIME is a byte of tenths).
	MaxReadTimeout = 25500 * time.Millisecond
)

// Config describes one serial port. Zero values mean the documented defaults.
type Config struct {
	Device      string        // /dev/ttyACM0, /dev/serial/by-id/..., a pty path
	Baud        int           // default 9600
	Parity      string        // "none" (default) | "even" | "odd"
	StopBits    int           // 1 (default) | 2
	ReadTimeout time.Duration // default 100 ms; rounded up to whole tenths (termios VTIME), at least 100 ms
}

// Sentinel errors; test with errors.Is. Every error returned by this package
// also names the operation and the device.
var (
	ErrNotFound   = errors.New("no such device")
	ErrPermission = errors.New("permission denied")
	ErrBusy       = errors.New("device busy (opened by another program)")
	ErrGone       = errors.New("device gone (unplugged or hung up)")
	ErrClosed     = errors.New("port closed")
	ErrConfig     = errors.New("bad configuration")
)

// PermissionHint is appended to permission errors.
const PermissionHint = "install scripts/99-posagent.rules (udev) or add the service user to the dialout group"

var bauds = []int{1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600}

// Validate reports every problem with c at once (an error wrapping
// ErrConfig), without touching the device.
func (c Config) Validate() error {
	_, err := c.withDefaults()
	return err
}

// withDefaults validates c and fills defaults. It does no I/O.
func (c Config) withDefaults() (Config, error) {
	var problems []string
	if strings.TrimSpace(c.Device) == "" {
		problems = append(problems, "device is empty (want a path such as /dev/ttyACM0)")
	}
	if c.Baud == 0 {
		c.Baud = DefaultBaud
	} else if i := sort.SearchInts(bauds, c.Baud); i >= len(bauds) || bauds[i] != c.Baud {
		s := make([]string, len(bauds))
		for i, b := range bauds {
			s[i] = strconv.Itoa(b)
		}
		problems = append(problems, fmt.Sprintf("baud %d is not supported (one of %s)", c.Baud, strings.Join(s, ", ")))
	}
	switch strings.ToLower(c.Parity) {
	case "", "none", "n":
		c.Parity = "none"
	case "even", "e":
		c.Parity = "even"
	case "odd", "o":
		c.Parity = "odd"
	default:
		problems = append(problems, fmt.Sprintf("parity %q is not one of none, even, odd", c.Parity))
	}
	switch c.StopBits {
	case 0:
		c.StopBits = 1
	case 1, 2:
	default:
		problems = append(problems, fmt.Sprintf("stop bits %d is not 1 or 2", c.StopBits))
	}
	switch {
	case c.ReadTimeout == 0:
		c.ReadTimeout = DefaultReadTimeout
	case c.ReadTimeout < 0 || c.ReadTimeout > MaxReadTimeout:
		problems = append(problems, fmt.Sprintf("read timeout %v is outside 100ms..25.5s", c.ReadTimeout))
	case c.ReadTimeout < DefaultReadTimeout:
		c.ReadTimeout = DefaultReadTimeout
	}
	if len(problems) > 0 {
		name := c.Device
		if name == "" {
			name = "(no device)"
		}
		return c, fmt.Errorf("serial: open %s: %w: %s", name, ErrConfig, strings.Join(problems, "; "))
	}
	return c, nil
}

// Port is an open serial port. It is an io.ReadWriteCloser:
//
//   - Read blocks at most ReadTimeout; a read that times out returns (0, nil).
//   - Read returns an error wrapping ErrGone when the device disappears
//     (USB unplugged, pty master closed) and ErrClosed after Close.
//   - Close does not hang: a Read in progress returns within ReadTimeout.
//
// One goroutine may Read while another Writes. Close is safe to call more than once.
type Port struct {
	cfg   Config
	port  *tarm.Port
	guard *guard // a second descriptor: exclusive lock and liveness probe (nil where unsupported)

	mu     sync.Mutex // guards closed
	closed bool
}

var _ io.ReadWriteCloser = (*Port)(nil)

// Open validates c, opens the device in raw mode (8 data bits) and returns the port.
// Errors wrap ErrConfig, ErrNotFound, ErrPermission or ErrBusy and name the device.
func Open(c Config) (*Port, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	parity := map[string]tarm.Parity{"none": tarm.ParityNone, "even": tarm.ParityEven, "odd": tarm.ParityOdd}[c.Parity]
	stop := tarm.Stop1
	if c.StopBits == 2 {
		stop = tarm.Stop2
	}
	// Stat first: tarm's open error for a missing file is fine, but a clear
	// "not a character device" is worth the extra call.
	if fi, err := os.Stat(c.Device); err == nil && fi.Mode()&fs.ModeCharDevice == 0 {
		return nil, fmt.Errorf("serial: open %s: %w: not a character device (%v)", c.Device, ErrConfig, fi.Mode().Type())
	}
	p, err := tarm.OpenPort(&tarm.Config{Name: c.Device, Baud: c.Baud, ReadTimeout: c.ReadTimeout, Size: 8, Parity: parity, StopBits: stop})
	if err != nil {
		return nil, openError(c.Device, err)
	}
	g, err := newGuard(c.Device)
	if err != nil {
		p.Close()
		return nil, openError(c.Device, err)
	}
	return &Port{cfg: c, port: p, guard: g}, nil
}

// openError classifies an open failure.
func openError(dev string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("serial: open %s: %w (is the scanner plugged in? see `posagent devices`)", dev, ErrNotFound)
	case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EPERM):
		return fmt.Errorf("serial: open %s: %w: %s", dev, ErrPermission, PermissionHint)
	case errors.Is(err, syscall.EBUSY), errors.Is(err, syscall.EWOULDBLOCK):
		return fmt.Errorf("serial: open %s: %w", dev, ErrBusy)
	case errors.Is(err, syscall.ENXIO), errors.Is(err, syscall.ENODEV), errors.Is(err, syscall.EIO):
		return fmt.Errorf("serial: open %s: %w: %v", dev, ErrGone, err)
	}
	return fmt.Errorf("serial: open %s: %w", dev, err)
}

// Config returns the configuration in effect (defaults filled in).
func (p *Port) Config() Config { return p.cfg }

// Read reads what has arrived, waiting at most ReadTimeout.
func (p *Port) Read(b []byte) (int, error) {
	if p.isClosed() {
		return 0, fmt.Errorf("serial: read %s: %w", p.cfg.Device, ErrClosed)
	}
	n, err := p.port.Read(b)
	if n > 0 {
		return n, nil // a later Read reports any error again
	}
	switch {
	case err == nil, errors.Is(err, io.EOF):
		// A termios timeout (VMIN=0, VTIME) reads 0 bytes, which os.File
		// reports as io.EOF. A hung-up tty also reads 0 bytes forever, so
		// tell them apart by probing the device.
		if p.isClosed() {
			return 0, fmt.Errorf("serial: read %s: %w", p.cfg.Device, ErrClosed)
		}
		if perr := p.guard.alive(); perr != nil {
			return 0, fmt.Errorf("serial: read %s: %w: %v", p.cfg.Device, ErrGone, perr)
		}
		return 0, nil
	case errors.Is(err, os.ErrClosed) || p.isClosed():
		return 0, fmt.Errorf("serial: read %s: %w", p.cfg.Device, ErrClosed)
	case errors.Is(err, syscall.EIO), errors.Is(err, syscall.ENXIO), errors.Is(err, syscall.ENODEV):
		return 0, fmt.Errorf("serial: read %s: %w: %v", p.cfg.Device, ErrGone, err)
	}
	return 0, fmt.Errorf("serial: read %s: %w", p.cfg.Device, err)
}

// Write writes b to the port.
func (p *Port) Write(b []byte) (int, error) {
	if p.isClosed() {
		return 0, fmt.Errorf("serial: write %s: %w", p.cfg.Device, ErrClosed)
	}
	n, err := p.port.Write(b)
	if err != nil {
		if errors.Is(err, syscall.EIO) || errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.ENODEV) {
			return n, fmt.Errorf("serial: write %s: %w: %v", p.cfg.Device, ErrGone, err)
		}
		if errors.Is(err, os.ErrClosed) {
			return n, fmt.Errorf("serial: write %s: %w", p.cfg.Device, ErrClosed)
		}
		return n, fmt.Errorf("serial: write %s: %w", p.cfg.Device, err)
	}
	return n, nil
}

// Close closes the port. A Read in progress returns within ReadTimeout.
func (p *Port) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	err := p.port.Close()
	p.guard.close()
	if err != nil {
		return fmt.Errorf("serial: close %s: %w", p.cfg.Device, err)
	}
	return nil
}

func (p *Port) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}
