package printer

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors of PrintReceipt and Status; test with errors.Is.
var (
	ErrPaperOut    = errors.New("paper out")
	ErrCoverOpen   = errors.New("cover open")
	ErrOffline     = errors.New("printer offline")
	ErrFault       = errors.New("printer error (cutter or mechanism)")
	ErrNoStatus    = errors.New("no status reply")
	ErrUnreachable = errors.New("printer unreachable")
)

// Status is the printer's state as read with DLE EOT 1..4. Known is false
// when the transport cannot read (a file, a write-only USB device) or
// status queries are switched off: then nothing else is meaningful.
type Status struct {
	Known        bool
	Offline      bool
	CoverOpen    bool
	PaperNearEnd bool
	PaperOut     bool
	Fault        bool    // auto-cutter, unrecoverable or auto-recoverable error
	Replies      [4]byte // the raw replies to DLE EOT 1..4 (0: not asked)
}

// DecodeStatus applies the reply b to DLE EOT n (1..4) to s. Epson's
// replies have bit 0 and bit 7 clear (and bits 1 and 4 set: the all-clear
// reply is 0x12); a byte with bit 0 or 7 set is not a status reply.
//
//	n=1 printer:  bit 3 offline
//	n=2 offline:  bit 2 cover open, bit 5 stopped at paper end, bit 6 error
//	n=3 error:    bit 3 auto-cutter, bit 5 unrecoverable, bit 6 auto-recoverable
//	n=4 paper:    bits 2-3 paper near end, bits 5-6 paper out (0x60)
func DecodeStatus(s *Status, n, b byte) error {
	if n < 1 || n > 4 {
		return fmt.Errorf("printer: status: DLE EOT %d is not 1..4", n)
	}
	if b&0x81 != 0 {
		return fmt.Errorf("printer: status: reply 0x%02X to DLE EOT %d is not a status byte", b, n)
	}
	s.Known = true
	s.Replies[n-1] = b
	switch n {
	case 1:
		s.Offline = b&0x08 != 0
	case 2:
		s.CoverOpen = b&0x04 != 0
		if b&0x20 != 0 {
			s.PaperOut = true
		}
		if b&0x40 != 0 {
			s.Fault = true
		}
	case 3:
		if b&0x68 != 0 {
			s.Fault = true
		}
	case 4:
		s.PaperNearEnd = b&0x0C != 0
		if b&0x60 != 0 {
			s.PaperOut = true
		}
	}
	return nil
}

// Err returns the error that stops printing, most specific first:
// ErrPaperOut, ErrCoverOpen, ErrFault, ErrOffline; nil when the printer can
// print (paper near end still prints) or the status is unknown.
func (s Status) Err() error {
	switch {
	case !s.Known:
		return nil
	case s.PaperOut:
		return ErrPaperOut
	case s.CoverOpen:
		return ErrCoverOpen
	case s.Fault:
		return ErrFault
	case s.Offline:
		return ErrOffline
	}
	return nil
}

// State is a short word for /v1/status and device.changed: "ok",
// "paper_near_end", "paper_out", "cover_open", "error", "offline" or
// "unknown".
func (s Status) State() string {
	switch {
	case !s.Known:
		return "unknown"
	case s.PaperOut:
		return "paper_out"
	case s.CoverOpen:
		return "cover_open"
	case s.Fault:
		return "error"
	case s.Offline:
		return "offline"
	case s.PaperNearEnd:
		return "paper_near_end"
	}
	return "ok"
}

// String describes the status for people: "ok", "paper out, offline", "unknown".
func (s Status) String() string {
	if !s.Known {
		return "unknown"
	}
	var parts []string
	for _, f := range []struct {
		on   bool
		name string
	}{{s.PaperOut, "paper out"}, {s.PaperNearEnd && !s.PaperOut, "paper near end"}, {s.CoverOpen, "cover open"}, {s.Fault, "error"}, {s.Offline, "offline"}} {
		if f.on {
			parts = append(parts, f.name)
		}
	}
	if len(parts) == 0 {
		return "ok"
	}
	return strings.Join(parts, ", ")
}

// StateOf combines a status query's result into one word: the Status's
// State, "unreachable" when the printer could not be opened, "no_reply"
// when it did not answer, "timeout" when the caller's deadline ended the
// exchange, else "error".
func StateOf(s Status, err error) string {
	switch {
	case err == nil:
		return s.State()
	case errors.Is(err, ErrUnreachable):
		return "unreachable"
	case errors.Is(err, ErrNoStatus):
		return "no_reply"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	}
	return "error"
}
