package printer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/posagent/posagent/fonts"
)

// Condition is the state a VirtualPrinter simulates.
type Condition int

// Conditions.
const (
	Ready     Condition = iota // all clear: 0x12 to every DLE EOT n
	PaperOut                   // offline, stopped at paper end, paper out (n=4: 0x72)
	CoverOpen                  // offline, cover open
	Offline                    // offline for no stated reason
	Mute                       // never answers DLE EOT (a printer without status support)
)

// statusReply is what a printer in condition c answers to DLE EOT n.
func statusReply(c Condition, n byte) (byte, bool) {
	const clear = 0x12
	switch c {
	case Mute:
		return 0, false
	case PaperOut:
		switch n {
		case 1:
			return clear | 0x08, true
		case 2:
			return clear | 0x20, true
		case 4:
			return clear | 0x60, true
		}
	case CoverOpen:
		switch n {
		case 1:
			return clear | 0x08, true
		case 2:
			return clear | 0x04, true
		}
	case Offline:
		if n == 1 {
			return clear | 0x08, true
		}
	}
	return clear, true
}

// VirtualOptions configures a VirtualPrinter. Zero values mean defaults.
type VirtualOptions struct {
	Dir       string       // where receipt-NNNN.png/.txt/.bin go ("" = memory only)
	Width     int          // paper width in dots (default 576)
	Condition Condition    // initial condition (default Ready)
	Logger    *slog.Logger // nil: discard
	CJK       *fonts.CJK   // draws Chinese in the PNGs (nil: omitted, see OmittedNote)
	// OnReceipt is called for each receipt, after its files are written.
	OnReceipt func(VirtualReceipt)
}

// VirtualReceipt is one receipt the virtual printer received.
type VirtualReceipt struct {
	Seq  int    // 1, 2, ...
	Page *Page  // text, raw bytes, image
	PNG  []byte // the rendered image
	Path string // DIR/receipt-NNNN (add .png, .txt, .bin); "" without Dir
}

// VirtualPrinter is a network ESC/POS printer for tests and demos: it
// accepts connections on a listener, one after another (like a real
// port-9100 printer), answers DLE EOT according to its Condition, and
// turns what it receives into receipts at each cut and at the end of each
// connection (when anything was printed since the last cut).
type VirtualPrinter struct {
	o   VirtualOptions
	log *slog.Logger

	mu        sync.Mutex // guards cond, receipts, seq, conns, bytesRecv, dropped
	cond      Condition
	receipts  []VirtualReceipt
	seq       int
	conns     int
	bytesRecv int64
	dropped   int
}

// NewVirtualPrinter returns a virtual printer. With a Dir, numbering
// continues after the receipts already there.
func NewVirtualPrinter(o VirtualOptions) *VirtualPrinter {
	if o.Width <= 0 {
		o.Width = 576
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	v := &VirtualPrinter{o: o, log: log, cond: o.Condition}
	if o.Dir != "" {
		names, _ := filepath.Glob(filepath.Join(o.Dir, "receipt-*.bin"))
		for _, n := range names {
			s := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(n), "receipt-"), ".bin")
			if k, err := strconv.Atoi(s); err == nil && k > v.seq {
				v.seq = k
			}
		}
	}
	return v
}

// SetCondition changes the simulated condition (takes effect at the next status request).
func (v *VirtualPrinter) SetCondition(c Condition) {
	v.mu.Lock()
	v.cond = c
	v.mu.Unlock()
}

// Receipts returns the receipts received so far.
func (v *VirtualPrinter) Receipts() []VirtualReceipt {
	v.mu.Lock()
	defer v.mu.Unlock()
	return append([]VirtualReceipt(nil), v.receipts...)
}

// Connections returns how many connections were accepted, and BytesReceived how many bytes arrived.
func (v *VirtualPrinter) Connections() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.conns
}

// BytesReceived returns how many bytes arrived over all connections.
func (v *VirtualPrinter) BytesReceived() int64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.bytesRecv
}

// Run serves connections from l until ctx ends; it closes l. Cancellation
// is not an error.
func (v *VirtualPrinter) Run(ctx context.Context, l net.Listener) error {
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	defer l.Close()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("printer: virtual printer: accept: %w", err)
		}
		v.mu.Lock()
		v.conns++
		v.mu.Unlock()
		if err := v.Serve(ctx, c); err != nil {
			v.log.Warn("printer: virtual printer: connection", "remote", c.RemoteAddr().String(), "err", err)
		}
	}
}

// Serve interprets one connection (a TCP connection, a pty, a pipe) until
// it ends or ctx does, then closes it.
func (v *VirtualPrinter) Serve(ctx context.Context, rw io.ReadWriteCloser) error {
	stop := context.AfterFunc(ctx, func() { rw.Close() })
	defer stop()
	defer rw.Close()
	var werr error
	in := NewInterpreter(InterpreterOptions{
		Width: v.o.Width,
		CJK:   v.o.CJK,
		OnStatus: func(n byte) {
			v.mu.Lock()
			b, ok := statusReply(v.cond, n)
			v.mu.Unlock()
			if ok && werr == nil {
				_, werr = rw.Write([]byte{b})
			}
		},
		OnPage: func(p *Page) { v.receive(p) },
	})
	buf := make([]byte, 32<<10)
	var rerr error
	for {
		n, err := rw.Read(buf)
		if n > 0 {
			v.mu.Lock()
			v.bytesRecv += int64(n)
			v.mu.Unlock()
			in.Write(buf[:n])
		}
		if err != nil {
			rerr = err
			break
		}
	}
	if p := in.Close(); p != nil {
		v.receive(p)
	}
	// EOF, a closed connection, or EIO (a terminal's other side hung up) end it cleanly.
	if errors.Is(rerr, io.EOF) || errors.Is(rerr, net.ErrClosed) || errors.Is(rerr, os.ErrClosed) || errors.Is(rerr, syscall.EIO) || ctx.Err() != nil {
		rerr = nil
	}
	if rerr != nil {
		return fmt.Errorf("printer: virtual printer: read: %w", rerr)
	}
	return nil
}

// Dropped returns how many receipts arrived while the printer could not
// print (paper out, cover open, offline): like a real printer, it did not
// print them.
func (v *VirtualPrinter) Dropped() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.dropped
}

// receive records a page that printed something, writing its files.
func (v *VirtualPrinter) receive(p *Page) {
	if !p.Printed {
		return
	}
	v.mu.Lock()
	cond := v.cond
	if cond == PaperOut || cond == CoverOpen || cond == Offline {
		v.dropped++
		v.mu.Unlock()
		v.log.Warn("printer: virtual printer: receipt not printed: printer not ready", "condition", int(cond), "bytes", len(p.Raw))
		return
	}
	v.mu.Unlock()
	img, err := p.PNG()
	if err != nil {
		v.log.Error("printer: virtual printer: png", "err", err)
	}
	v.mu.Lock()
	v.seq++
	r := VirtualReceipt{Seq: v.seq, Page: p, PNG: img}
	v.mu.Unlock()
	if v.o.Dir != "" {
		r.Path = filepath.Join(v.o.Dir, fmt.Sprintf("receipt-%04d", r.Seq))
		for _, f := range []struct {
			ext  string
			data []byte
		}{{".png", img}, {".txt", []byte(p.Text())}, {".bin", p.Raw}} {
			if err := os.WriteFile(r.Path+f.ext, f.data, 0o644); err != nil {
				v.log.Error("printer: virtual printer: save", "file", r.Path+f.ext, "err", err)
			}
		}
	}
	v.mu.Lock()
	v.receipts = append(v.receipts, r)
	v.mu.Unlock()
	v.log.Info("printer: virtual printer: receipt", "seq", r.Seq, "lines", len(p.Lines), "bytes", len(p.Raw), "path", r.Path)
	if v.o.OnReceipt != nil {
		v.o.OnReceipt(r)
	}
}
