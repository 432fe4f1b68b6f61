package scanner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/posagent/posagent/drivers/serial"
	"github.com/posagent/posagent/drivers/usbhid"
	"github.com/posagent/posagent/paycode"
)

// Device states reported through OnState.
const (
	StateConnected    = "connected"
	StateDisconnected = "disconnected" // the device went away after working
	StateError        = "error"        // opening failed; retrying
)

// Status is a scanner's state change, for the agent's device registry
// (device.changed events).
type Status struct {
	Kind  string // "scanner"
	Name  string // the configured scanner name
	State string // StateConnected, StateDisconnected, StateError
	Err   string // the error text for disconnected and error, else ""
	At    time.Time
}

// Backoff is the wait between reconnect attempts: Min, doubling on each
// failure up to Max. It starts again from Min once a connection has lasted
// at least Max, so a device that opens but fails at once cannot make the
// source spin.
type Backoff struct {
	Min time.Duration // default 100 ms
	Max time.Duration // default 5 s
}

func (b Backoff) withDefaults() Backoff {
	if b.Min <= 0 {
		b.Min = 100 * time.Millisecond
	}
	if b.Max < b.Min {
		b.Max = max(5*time.Second, b.Min)
	}
	return b
}

// next returns the wait after cur (0: the first failure).
func (b Backoff) next(cur time.Duration) time.Duration {
	if cur <= 0 {
		return b.Min
	}
	return min(cur*2, b.Max)
}

// Decoding holds the options common to all sources.
type Decoding struct {
	KeepAIM     bool          // keep a known AIM prefix in Scan.Code (default: strip it into Scan.Symbology)
	TabEnds     bool          // keyboard mode: Tab ends a code like Enter
	IdleFlush   time.Duration // keyboard mode default 50 ms; serial default 0 (off); negative: off
	DedupWindow time.Duration // same code within this window is one scan; 0: no suppression
	MaxLength   int           // default DefaultMaxLength
}

// pipeline turns decoder output into Scans: AIM handling and dedup.
type pipeline struct {
	name  string
	opts  Decoding
	dedup Dedup
	log   *slog.Logger
}

func (p *pipeline) emit(raws []Raw, emit func(Scan)) {
	for _, r := range raws {
		s := Scan{Code: r.Data, Device: p.name, At: r.At}
		if code, sym := SplitAIM(r.Data); sym != "" {
			s.Symbology = sym
			if !p.opts.KeepAIM {
				s.Code = code
			}
		}
		if s.Code == "" {
			continue
		}
		if p.dedup.Duplicate(s.Code, s.At) {
			p.log.Debug("scanner: duplicate suppressed", "device", p.name, "code", logCode(s.Code))
			continue
		}
		emit(s)
	}
}

// logCode masks payment codes for logs; other barcodes are shown.
func logCode(code string) string {
	if _, ok := paycode.Classify(code); ok {
		return paycode.Mask(code)
	}
	return code
}

// conn is what a source reads: one open device.
type conn interface {
	io.Reader
	io.Closer
}

// runLoop is the reconnect loop shared by the sources: open, read and
// decode until an error, report the state, wait, open again - until ctx ends.
// The goroutine that reads is the one that closes.
func runLoop(ctx context.Context, kind, name string, b Backoff, clock func() time.Time, log *slog.Logger,
	onState func(Status), open func() (conn, error), dec Decoder, p *pipeline, bufSize int, emit func(Scan)) error {
	b = b.withDefaults()
	var lastReported Status
	state := func(st string, err error) {
		s := Status{Kind: "scanner", Name: name, State: st, At: clock()}
		if err != nil {
			s.Err = err.Error()
		}
		// Retrying an absent device every few seconds is one "error" state,
		// not a stream of identical events.
		if onState == nil || (s.State == lastReported.State && s.Err == lastReported.Err) {
			return
		}
		lastReported = s
		onState(s)
	}
	var wait time.Duration
	lastState := ""
	buf := make([]byte, bufSize)
	for {
		if ctx.Err() != nil {
			return nil
		}
		c, err := open()
		if err != nil && permanent(err) {
			// Retrying cannot help (a build without HID, a bad setting):
			// say so once and stay idle, without stopping the agent.
			log.Error("scanner: cannot open, not retrying", "device", name, "kind", kind, "err", err)
			state(StateError, err)
			<-ctx.Done()
			return nil
		}
		if err != nil {
			wait = b.next(wait)
			if lastState != StateError {
				log.Warn("scanner: open failed, retrying", "device", name, "kind", kind, "err", err, "retry_in", wait)
			}
			lastState = StateError
			state(StateError, err)
		} else {
			lastState = StateConnected
			state(StateConnected, nil)
			log.Info("scanner: connected", "device", name, "kind", kind)
			since := clock()
			dec.Reset()
			err = readLoop(ctx, c, dec, p, clock, buf, emit)
			c.Close()
			if ctx.Err() != nil {
				return nil
			}
			lastState = StateDisconnected
			log.Warn("scanner: disconnected", "device", name, "kind", kind, "err", err)
			state(StateDisconnected, err)
			// A device that fails right after every open keeps backing
			// off; one that worked for a while is retried quickly.
			if clock().Sub(since) >= b.Max {
				wait = 0
			}
			wait = b.next(wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// readLoop reads until an error or ctx ends. A read returning (0, nil) is a
// timeout: the decoder gets a chance to flush an idle code.
func readLoop(ctx context.Context, c conn, dec Decoder, p *pipeline, clock func() time.Time, buf []byte, emit func(Scan)) error {
	for ctx.Err() == nil {
		n, err := c.Read(buf)
		now := clock()
		if n > 0 {
			p.emit(dec.Feed(buf[:n], now), emit)
		} else if err == nil {
			p.emit(dec.Idle(now), emit)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = fmt.Errorf("scanner: read: device closed the stream (%w)", err)
			}
			return err
		}
	}
	return nil
}

// SerialSource reads a serial scanner (USB-CDC, USB-serial, RS-232): lines
// ended by CR, LF or CR LF.
type SerialSource struct {
	Name     string        // the configured scanner name ("counter")
	Port     serial.Config // device, baud, parity, stop bits, read timeout
	Decoding Decoding
	Backoff  Backoff
	Clock    func() time.Time // default time.Now
	Logger   *slog.Logger     // default: discard
	OnState  func(Status)     // optional; called from Run's goroutine on each change of state or error text
	// Open opens the port; nil means serial.Open. A test seam, like HIDSource.Open.
	Open func(serial.Config) (io.ReadCloser, error)
}

// Run reads scans and calls emit for each (from Run's goroutine) until ctx
// ends, reconnecting with backoff whenever the port fails. It returns nil
// when ctx ends: cancellation is not an error.
func (s *SerialSource) Run(ctx context.Context, emit func(Scan)) error {
	clock, log := defaults(s.Clock, s.Logger)
	open := s.Open
	if open == nil {
		open = func(c serial.Config) (io.ReadCloser, error) { return serial.Open(c) }
	}
	idle := s.Decoding.IdleFlush
	if idle == 0 {
		idle = -1
	}
	dec := NewLineFramer(LineOptions{MaxLength: s.Decoding.MaxLength, IdleFlush: idle})
	p := &pipeline{name: s.Name, opts: s.Decoding, dedup: Dedup{Window: s.Decoding.DedupWindow}, log: log}
	return runLoop(ctx, "serial", s.Name, s.Backoff, clock, log, s.OnState,
		func() (conn, error) { return open(s.Port) }, dec, p, 256, emit)
}

// HID modes.
const (
	ModeKeyboard = "keyboard" // keyboard wedge (boot keyboard reports)
	ModeHIDPOS   = "hidpos"   // HID POS (usage page 0x8C)
)

// HIDSource reads a USB HID scanner in keyboard-wedge or HID POS mode.
type HIDSource struct {
	Name     string
	Device   usbhid.Config // VID, PID, interface, serial, read timeout
	Mode     string        // ModeKeyboard (default) or ModeHIDPOS
	ReportID byte          // keyboard mode: numbered reports with this id (0: boot reports)
	POS      HIDPOSOptions // HID POS mode: layout and length convention
	Decoding Decoding
	Backoff  Backoff
	Clock    func() time.Time
	Logger   *slog.Logger
	OnState  func(Status)
	// Open opens the device; each Read of the result must return one
	// report, or (0, nil) after a read timeout. nil means usbhid.Open.
	// Tests replay recorded report streams through it.
	Open func() (io.ReadCloser, error)
}

// NewDecoder returns the decoder the source uses for its mode, or an error
// for an unknown mode.
func (s *HIDSource) NewDecoder() (Decoder, error) {
	switch s.Mode {
	case "", ModeKeyboard:
		return NewKeyboardDecoder(KeyboardOptions{ReportID: s.ReportID, TabEnds: s.Decoding.TabEnds,
			IdleFlush: s.Decoding.IdleFlush, MaxLength: s.Decoding.MaxLength}), nil
	case ModeHIDPOS:
		o := s.POS
		if o.MaxLength == 0 {
			o.MaxLength = s.Decoding.MaxLength
		}
		switch o.Layout {
		case LayoutAuto, LayoutHoneywell, LayoutNewland:
		default:
			return nil, fmt.Errorf("scanner: %s: HID POS layout %q is not %q or %q", s.Name, o.Layout, LayoutHoneywell, LayoutNewland)
		}
		switch o.Length {
		case LengthAuto, LengthData, LengthWithAIM:
		default:
			return nil, fmt.Errorf("scanner: %s: HID POS length %q is not %q or %q", s.Name, o.Length, LengthData, LengthWithAIM)
		}
		return NewHIDPOSDecoder(o), nil
	}
	return nil, fmt.Errorf("scanner: %s: mode %q is not %q or %q", s.Name, s.Mode, ModeKeyboard, ModeHIDPOS)
}

// Run reads scans and calls emit for each until ctx ends, reconnecting with
// backoff. It returns an error only for a bad configuration; cancellation
// is not an error.
func (s *HIDSource) Run(ctx context.Context, emit func(Scan)) error {
	clock, log := defaults(s.Clock, s.Logger)
	dec, err := s.NewDecoder()
	if err != nil {
		return err
	}
	open := s.Open
	if open == nil {
		open = func() (io.ReadCloser, error) {
			d, err := usbhid.Open(s.Device)
			if err != nil {
				return nil, err
			}
			return d, nil
		}
	}
	p := &pipeline{name: s.Name, opts: s.Decoding, dedup: Dedup{Window: s.Decoding.DedupWindow}, log: log}
	return runLoop(ctx, "hid", s.Name, s.Backoff, clock, log, s.OnState,
		func() (conn, error) { return open() }, dec, p, 256, emit)
}

// permanent reports errors that no retry can fix.
func permanent(err error) bool {
	return errors.Is(err, usbhid.ErrUnsupported) || errors.Is(err, usbhid.ErrSelector) || errors.Is(err, serial.ErrConfig)
}

func defaults(clock func() time.Time, log *slog.Logger) (func() time.Time, *slog.Logger) {
	if clock == nil {
		clock = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return clock, log
}
