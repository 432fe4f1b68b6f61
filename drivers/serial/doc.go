// Package serial opens serial ports (USB-CDC /dev/ttyACM*, USB-serial
// /dev/ttyUSB*, on-board /dev/ttyS*, pseudo-terminals) for the scanner,
// printer and pole-display drivers. It wraps github.com/tarm/serial and
// fixes the parts of it that a daemon cannot live with.
//
// # Basics
//
//	p, err := serial.Open(serial.Config{Device: "/dev/ttyACM0"}) // 9600 8N1, 100 ms read timeout
//	if err != nil { ... }      // errors.Is(err, serial.ErrNotFound / ErrPermission / ErrBusy / ErrConfig)
//	defer p.Close()
//	n, err := p.Read(buf)      // n == 0, err == nil: nothing arrived within ReadTimeout
//
// *Port is an io.ReadWriteCloser in raw mode (8 data bits, no echo, no
// line translation). Bytes arrive in arbitrary chunks: framing is the job
// of the caller (scanner.LineFramer for scanners).
//
// # Timeouts, hang-ups and Close
//
// tarm/serial sets VMIN=0/VTIME, so every Read returns within ReadTimeout
// (at least 100 ms, at most 25.5 s, in tenths). On Linux a timed-out read
// comes back from tarm as io.EOF; Port.Read turns it into (0, nil). A
// hung-up tty (USB device unplugged, pty master closed) also reads 0 bytes
// forever, so on each empty read Port probes the device with a TCGETS ioctl
// on a second descriptor: when that fails the read returns an error wrapping
// ErrGone, and the caller reconnects. A read in progress when the far end
// hangs up returns EIO, also reported as ErrGone.
//
// Close never hangs: a Read in progress in another goroutine returns within
// ReadTimeout with ErrClosed. Still, the convention in this project is that
// the goroutine that reads is the one that closes.
//
// # Exclusive access
//
// On Linux Open takes an advisory flock on the device and sets TIOCEXCL, so a
// second posagent (say `posagent scan --listen` while the daemon runs) or
// another program gets ErrBusy instead of silently stealing half the bytes.
// Root ignores TIOCEXCL but not the flock.
//
// # Finding ports
//
// ListPorts lists /dev/ttyACM*, /dev/ttyUSB*, the /dev/ttyS* with a real
// UART (sysfs type not 0) and the stable /dev/serial/by-id names, which are
// what a configuration should use: ttyACM numbers change with plug order.
// CheckAccess says whether this process may open a port, without opening it
// (an open can toggle DTR). Config.Validate checks settings without I/O.
//
// # Caveats
//
//   - Reconnect with backoff is not done here: a Port is one open device.
//     scanner.SerialSource reconnects (see package drivers).
//   - A pseudo-terminal ignores the baud rate; tests that need line timing
//     must pace themselves.
//   - Permission errors carry PermissionHint (udev rule or dialout group).
//   - Only the baud rates in the usual table (1200 to 921600) are accepted.
package serial
