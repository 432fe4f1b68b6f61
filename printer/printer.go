package printer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"syscall"
	"time"
)

// ReceiptPrinter is what the agent needs from a printer.
type ReceiptPrinter interface {
	PrintReceipt(ctx context.Context, r Receipt) error
}

// StatusReader is the optional ability to report the printer's status.
type StatusReader interface {
	Status(ctx context.Context) (Status, error)
}

var (
	_ ReceiptPrinter = (*Printer)(nil)
	_ StatusReader   = (*Printer)(nil)
)

// Defaults of Options.
const (
	DefaultStatusTimeout  = 2 * time.Second
	DefaultConfirmTimeout = 10 * time.Second
	DefaultTimeout        = 30 * time.Second
	DefaultPollInterval   = 10 * time.Second
)

// Options configures a Printer. Zero values mean the documented defaults.
type Options struct {
	Open    Opener       // required: how to reach the printer
	Profile Profile      // what it understands (normalised by New)
	Logger  *slog.Logger // nil: discard
	Name    string       // for logs and errors (default the profile name)

	StatusTimeout  time.Duration // wait for one DLE EOT reply (default 2 s)
	ConfirmTimeout time.Duration // wait for the reply that confirms delivery after the data (default 10 s)
	Timeout        time.Duration // a whole print or status query at most (default 30 s), within the caller's context
	SkipStatus     bool          // never ask DLE EOT (printers that do not answer): status "unknown", no confirmation
	PollInterval   time.Duration // Run's status period (default 10 s)
	// OnChange is called (from Run or a print) when the status or the
	// error class changes; the agent shows it in /v1/status and as
	// device.changed events. StateOf(s, err) gives one word for it.
	OnChange func(s Status, err error)
}

// Printer prints receipts on one ESC/POS printer. One connection at a time
// is open: prints and status polls take turns. Each print opens the
// transport, checks the status when the transport can read (paper out,
// cover open, offline: an error and nothing is sent), writes the bytes,
// confirms delivery with one more status query, and closes. A print either
// completes or returns an error; it never outlives its context.
type Printer struct {
	o    Options
	log  *slog.Logger
	turn chan struct{} // one token: whoever holds it has the connection

	mu        sync.Mutex // guards last, lastErr, lastState, lastAt, hasLast
	last      Status
	lastErr   error
	lastState string
	lastAt    time.Time
	hasLast   bool
}

// New checks the options and returns a Printer.
func New(o Options) (*Printer, error) {
	if o.Open == nil {
		return nil, errors.New("printer: new: no transport (Options.Open is nil)")
	}
	if err := o.Profile.Validate(); err != nil {
		return nil, err
	}
	o.Profile = o.Profile.Normalize()
	if o.Name == "" {
		o.Name = o.Profile.Name
	}
	if o.Name == "" {
		o.Name = "printer"
	}
	if o.StatusTimeout <= 0 {
		o.StatusTimeout = DefaultStatusTimeout
	}
	if o.ConfirmTimeout <= 0 {
		o.ConfirmTimeout = DefaultConfirmTimeout
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Printer{o: o, log: log.With("printer", o.Name), turn: make(chan struct{}, 1)}
	p.turn <- struct{}{}
	return p, nil
}

// Profile returns the printer's (normalised) profile.
func (p *Printer) Profile() Profile { return p.o.Profile }

// PrintReceipt encodes the receipt for the profile and prints it.
// Errors wrap ErrPaperOut, ErrCoverOpen, ErrFault, ErrOffline (nothing
// was sent), ErrUnreachable, ErrNoStatus, or the context's error.
func (p *Printer) PrintReceipt(ctx context.Context, r Receipt) error {
	return p.print(ctx, Encode(r, p.o.Profile), "receipt "+r.PaymentID)
}

// Print sends raw ESC/POS bytes with the same checks as PrintReceipt.
func (p *Printer) Print(ctx context.Context, data []byte) error {
	return p.print(ctx, data, fmt.Sprintf("%d bytes", len(data)))
}

func (p *Printer) print(ctx context.Context, data []byte, what string) error {
	err := p.session(ctx, func(ctx context.Context, c io.WriteCloser) error {
		readable := p.readable(c)
		if readable {
			st, err := p.query(ctx, c)
			p.note(st, err)
			if err != nil {
				return fmt.Errorf("status: %w", err)
			}
			if err := st.Err(); err != nil {
				return err
			}
			if st.PaperNearEnd {
				p.log.Warn("printer: paper near end")
			}
		}
		if err := writeAll(c, data); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		if readable {
			// Real-time requests are answered as they arrive, after every
			// byte sent before them: a reply proves delivery.
			var st Status
			if err := p.ask(ctx, c, &st, 1, p.o.ConfirmTimeout); err != nil {
				return fmt.Errorf("confirm delivery: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("printer: print %s on %s: %w", what, p.o.Name, err)
	}
	p.log.Info("printer: printed", "what", what, "bytes", len(data))
	return nil
}

// Status opens the printer and reads its status (DLE EOT 1..4). A
// transport that cannot read gives Status{Known: false} and no error.
func (p *Printer) Status(ctx context.Context) (Status, error) {
	var st Status
	err := p.session(ctx, func(ctx context.Context, c io.WriteCloser) error {
		if !p.readable(c) {
			return nil
		}
		var err error
		st, err = p.query(ctx, c)
		return err
	})
	if err != nil {
		err = fmt.Errorf("printer: status of %s: %w", p.o.Name, err)
	}
	p.note(st, err)
	return st, err
}

// Run polls the status every PollInterval until ctx ends, reporting
// changes through OnChange. Cancellation is not an error.
func (p *Printer) Run(ctx context.Context) error {
	t := time.NewTicker(p.o.PollInterval)
	defer t.Stop()
	for {
		_, err := p.Status(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			p.log.Debug("printer: poll", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// LastStatus returns the most recent status and error seen by a print or
// a poll, and when it was seen (zero: never).
func (p *Printer) LastStatus() (s Status, at time.Time, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.last, p.lastAt, p.lastErr
}

// note records a status result and calls OnChange when its state word
// (StateOf) changed. A cancelled query says nothing about the printer.
func (p *Printer) note(st Status, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	state := StateOf(st, err)
	p.mu.Lock()
	changed := !p.hasLast || p.lastState != state
	p.last, p.lastErr, p.lastState, p.lastAt, p.hasLast = st, err, state, time.Now(), true
	p.mu.Unlock()
	if changed {
		p.log.Info("printer: status", "state", state, "err", err)
		if p.o.OnChange != nil {
			p.o.OnChange(st, err)
		}
	}
}

// session takes the connection turn, opens the transport, arranges for it
// to be closed when ctx (bounded by Timeout) ends, and runs fn.
func (p *Printer) session(ctx context.Context, fn func(context.Context, io.WriteCloser) error) error {
	ctx, cancel := context.WithTimeout(ctx, p.o.Timeout)
	defer cancel()
	select {
	case <-p.turn:
		defer func() { p.turn <- struct{}{} }()
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	c, err := p.o.Open(ctx)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w (%w)", err, ctx.Err())
		}
		p.note(Status{}, err)
		return err
	}
	var once sync.Once
	closeConn := func() { once.Do(func() { c.Close() }) }
	stop := context.AfterFunc(ctx, closeConn)
	defer func() {
		stop()
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite() // FIN before close: do not reset data still in flight
		}
		closeConn()
	}()
	if d, ok := ctx.Deadline(); ok {
		if wd, ok := c.(interface{ SetWriteDeadline(time.Time) error }); ok {
			wd.SetWriteDeadline(d)
		}
	}
	err = fn(ctx, c)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		<-ctx.Done() // the write deadline is ctx's: it has passed, or is about to
	}
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w (%w)", err, ctx.Err())
	}
	return err
}

func (p *Printer) readable(c io.WriteCloser) bool {
	if p.o.SkipStatus {
		return false
	}
	_, ok := c.(io.Reader)
	return ok
}

// query asks DLE EOT 1, 2, 3 and 4.
func (p *Printer) query(ctx context.Context, c io.WriteCloser) (Status, error) {
	var st Status
	for n := byte(1); n <= 4; n++ {
		if err := p.ask(ctx, c, &st, n, p.o.StatusTimeout); err != nil {
			return Status{}, err
		}
	}
	return st, nil
}

// ask sends DLE EOT n and decodes the one-byte reply into st.
func (p *Printer) ask(ctx context.Context, c io.WriteCloser, st *Status, n byte, timeout time.Duration) error {
	if err := writeAll(c, []byte{dle, eot, n}); err != nil {
		return fmt.Errorf("DLE EOT %d: %w", n, err)
	}
	b, err := readByte(ctx, c, timeout)
	if err != nil {
		return fmt.Errorf("DLE EOT %d: %w", n, err)
	}
	return DecodeStatus(st, n, b)
}

// readByte reads one byte within timeout (and ctx). Readers with
// SetReadDeadline get a deadline; readers whose reads time out by
// themselves (serial ports return no data) are polled until the timeout;
// any other blocked read is ended by closing the connection (the session
// does that when ctx ends).
func readByte(ctx context.Context, c io.WriteCloser, timeout time.Duration) (byte, error) {
	r := c.(io.Reader)
	deadline := time.Now().Add(timeout)
	ctxDeadline := false
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline, ctxDeadline = d, true
	}
	timedOut := func() error {
		if ctxDeadline {
			<-ctx.Done() // our deadline is ctx's: report it as such
			return ctx.Err()
		}
		return ErrNoStatus
	}
	hasDeadline := false
	if rd, ok := r.(interface{ SetReadDeadline(time.Time) error }); ok {
		if rd.SetReadDeadline(deadline) == nil {
			hasDeadline = true
			defer rd.SetReadDeadline(time.Time{})
		}
	}
	if !hasDeadline {
		// A read that may block past the timeout is ended by closing.
		t := time.AfterFunc(time.Until(deadline), func() { c.Close() })
		defer t.Stop()
	}
	var buf [1]byte
	for {
		n, err := r.Read(buf[:])
		if n == 1 {
			return buf[0], nil
		}
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) || !time.Now().Before(deadline) {
				return 0, timedOut()
			}
			if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
				return 0, fmt.Errorf("%w: connection closed by the printer (%v)", ErrNoStatus, err)
			}
			return 0, err
		}
		if !time.Now().Before(deadline) {
			return 0, timedOut()
		}
	}
}

func writeAll(w io.Writer, b []byte) error {
	for len(b) > 0 {
		n, err := w.Write(b)
		if err != nil {
			return err
		}
		if n == 0 {
			return io.ErrShortWrite
		}
		b = b[n:]
	}
	return nil
}
