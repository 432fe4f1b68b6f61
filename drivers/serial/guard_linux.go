//go:build linux

package serial

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// guard is a second descriptor on the device. It holds an advisory
// exclusive flock (so a second posagent - say `posagent scan --listen`
// while the daemon runs - gets ErrBusy instead of stealing half the bytes),
// sets TIOCEXCL (other programs' opens fail with EBUSY, except root's), and
// probes liveness: on a hung-up tty every ioctl fails with EIO, while a
// read merely returns 0 bytes, exactly like a timeout.
type guard struct{ f *os.File }

func newGuard(dev string) (*guard, error) {
	fd, err := unix.Open(dev, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		return nil, err // EWOULDBLOCK: busy
	}
	_ = unix.IoctlSetInt(fd, unix.TIOCEXCL, 0) // best effort
	return &guard{f: os.NewFile(uintptr(fd), dev)}, nil
}

// alive reports an error when the device has been hung up or removed.
func (g *guard) alive() error {
	if g == nil {
		return nil
	}
	rc, err := g.f.SyscallConn()
	if err != nil {
		return err
	}
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		_, ierr = unix.IoctlGetTermios(int(fd), unix.TCGETS)
	}); err != nil {
		return err
	}
	if ierr != nil {
		return fmt.Errorf("probe: %w", ierr)
	}
	return nil
}

func (g *guard) close() {
	if g != nil {
		g.f.Close()
	}
}

// CheckAccess reports whether this process may open path read-write,
// without opening it (opening a serial port can toggle DTR). The error
// wraps ErrPermission and carries PermissionHint.
func CheckAccess(path string) error {
	if err := unix.Access(path, unix.R_OK|unix.W_OK); err != nil {
		return openError(path, err)
	}
	return nil
}
