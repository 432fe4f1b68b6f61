package serial

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// newPTY returns a pseudo-terminal pair: the master (the "scanner" end) and
// the slave path (the "device" the port opens).
func newPTY(t *testing.T) (master *os.File, dev string) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	dev = s.Name()
	s.Close() // the port under test is the only user of the slave
	t.Cleanup(func() { m.Close() })
	return m, dev
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "file")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		is   error
		want string
	}{
		{"empty device", Config{}, ErrConfig, "device is empty"},
		{"bad baud", Config{Device: "/dev/x", Baud: 9601}, ErrConfig, "baud 9601 is not supported"},
		{"bad parity", Config{Device: "/dev/x", Parity: "mark"}, ErrConfig, `parity "mark"`},
		{"bad stop bits", Config{Device: "/dev/x", StopBits: 3}, ErrConfig, "stop bits 3"},
		{"timeout too long", Config{Device: "/dev/x", ReadTimeout: time.Minute}, ErrConfig, "read timeout 1m0s"},
		{"negative timeout", Config{Device: "/dev/x", ReadTimeout: -1}, ErrConfig, "read timeout"},
		{"all at once", Config{Baud: 1, Parity: "x"}, ErrConfig, "device is empty (want a path such as /dev/ttyACM0); baud 1 is"},
		{"missing", Config{Device: filepath.Join(dir, "ttyACM9")}, ErrNotFound, "ttyACM9: no such device"},
		{"regular file", Config{Device: regular}, ErrConfig, "not a character device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			static := errors.Is(tt.is, ErrConfig) && tt.name != "regular file" // Validate does no I/O
			if verr := tt.cfg.Validate(); (verr != nil) != static {
				t.Errorf("Validate: %v", verr)
			}
			p, err := Open(tt.cfg)
			if err == nil {
				p.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tt.is) {
				t.Errorf("error %q does not wrap %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "serial: open ") {
				t.Errorf("error %q, want it to start with \"serial: open\" and contain %q", err, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c, err := Config{Device: "/dev/x", ReadTimeout: time.Millisecond}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Device: "/dev/x", Baud: 9600, Parity: "none", StopBits: 1, ReadTimeout: 100 * time.Millisecond}
	if c != want {
		t.Errorf("got %+v, want %+v", c, want)
	}
}

func TestPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores file modes")
	}
	_, dev := newPTY(t)
	if err := os.Chmod(dev, 0); err != nil {
		t.Skip(err)
	}
	_, err := Open(Config{Device: dev})
	if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), "dialout") {
		t.Fatalf("got %v, want a permission error with the udev/dialout hint", err)
	}
}

func TestReadWriteTimeout(t *testing.T) {
	m, dev := newPTY(t)
	p, err := Open(Config{Device: dev, Baud: 115200})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if got := p.Config().ReadTimeout; got != DefaultReadTimeout {
		t.Errorf("ReadTimeout %v", got)
	}

	// Nothing sent: a timed-out read is (0, nil), not io.EOF.
	buf := make([]byte, 64)
	n, err := p.Read(buf)
	if n != 0 || err != nil {
		t.Fatalf("idle Read = %d, %v; want 0, nil", n, err)
	}

	// Scanner -> port.
	if _, err := m.Write([]byte("6912345678901\r")); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for i := 0; i < 50 && !bytes.HasSuffix(got, []byte("\r")); i++ {
		n, err := p.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "6912345678901\r" {
		t.Errorf("read %q", got)
	}

	// Port -> device (the raw mode must not translate bytes).
	out := []byte{0x1b, 0x40, '\n', 0x00, 0xff}
	if _, err := p.Write(out); err != nil {
		t.Fatal(err)
	}
	back := make([]byte, len(out))
	if _, err := io.ReadFull(m, back); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back, out) {
		t.Errorf("device got % x, want % x", back, out)
	}
}

func TestBusy(t *testing.T) {
	_, dev := newPTY(t)
	p, err := Open(Config{Device: dev})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	q, err := Open(Config{Device: dev})
	if err == nil {
		q.Close()
		t.Fatal("second Open of the same device succeeded")
	}
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), dev) {
		t.Fatalf("got %v, want ErrBusy naming %s", err, dev)
	}
}

// TestHangup: the far end going away (USB unplug; here the pty master
// closing) is an ErrGone error, both for a Read in progress and for the
// reads after it - never an endless series of (0, nil) "timeouts".
func TestHangup(t *testing.T) {
	m, dev := newPTY(t)
	p, err := Open(Config{Device: dev})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	errc := make(chan error, 1)
	go func() {
		buf := make([]byte, 16)
		for {
			if _, err := p.Read(buf); err != nil {
				errc <- err
				return
			}
		}
	}()
	m.Close()
	err = <-errc
	if !errors.Is(err, ErrGone) {
		t.Fatalf("pending Read after hangup: %v, want ErrGone", err)
	}
	for i := 0; i < 3; i++ {
		if _, err := p.Read(make([]byte, 16)); !errors.Is(err, ErrGone) {
			t.Fatalf("Read %d after hangup: %v, want ErrGone", i, err)
		}
	}
	if _, err := p.Write([]byte("x")); err == nil {
		t.Error("Write after hangup succeeded")
	}
}

// TestCloseWakesRead: Close while another goroutine is inside Read; the Read
// ends with ErrClosed (the timeout bounds it) and Close is idempotent.
func TestCloseWakesRead(t *testing.T) {
	_, dev := newPTY(t)
	p, err := Open(Config{Device: dev})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		buf := make([]byte, 16)
		close(started)
		for {
			if _, err := p.Read(buf); err != nil {
				errc <- err
				return
			}
		}
	}()
	<-started
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Read after Close: %v, want ErrClosed", err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := p.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
	// The device can be opened again once closed.
	q, err := Open(Config{Device: dev})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	q.Close()
}

// BenchmarkCloseDuringRead measures how long Close plus the pending Read
// take to finish (bounded by ReadTimeout).
func BenchmarkCloseDuringRead(b *testing.B) {
	m, s, err := pty.Open()
	if err != nil {
		b.Skip(err)
	}
	defer m.Close()
	dev := s.Name()
	s.Close()
	for i := 0; i < b.N; i++ {
		p, err := Open(Config{Device: dev})
		if err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			buf := make([]byte, 16)
			for {
				if _, err := p.Read(buf); err != nil {
					close(done)
					return
				}
			}
		}()
		time.Sleep(time.Millisecond)
		p.Close()
		<-done
	}
}
