package scanner

import (
	"strings"
	"time"
)

// Raw is one code as a decoder framed it: the characters between two
// terminators (or before an idle gap), AIM prefix not yet handled.
type Raw struct {
	Data string
	At   time.Time // when the terminator, last report or idle flush was seen
}

// Decoder turns a scanner's byte stream into framed codes. Decoders are pure:
// no I/O, no clock (the caller passes the time), never a panic on any input.
//
// Feed takes what one Read returned (one HID report, or a chunk of serial
// bytes). Idle is called when a read timed out with nothing, so that a code
// with no terminator is flushed after the idle gap. Reset forgets a partial
// code (the device went away). Stats counts what was skipped.
type Decoder interface {
	Feed(b []byte, at time.Time) []Raw
	Idle(now time.Time) []Raw
	Reset()
	Stats() Stats
}

// Stats counts input a decoder skipped. Garbage is input that could not be
// decoded (wrong report length, unknown usages, bad length fields), RollOver
// the keyboard roll-over error reports, Dropped the codes thrown away for
// exceeding the maximum length, Other the reports for another report id.
type Stats struct {
	Garbage, RollOver, Dropped, Other int
}

// DefaultMaxLength bounds one code: longer input without a terminator is
// dropped (and counted), never buffered forever.
const DefaultMaxLength = 512

// aimIDs maps the AIM symbology code character (after "]") to the modifier
// characters this package accepts. Only these prefixes are stripped: a code
// that merely begins with "]" stays as it is.
var aimIDs = map[byte]string{
	'A': "01234567",                             // Code 39
	'C': "01234",                                // Code 128 (C1 = GS1-128)
	'd': "0123456",                              // Data Matrix
	'E': "01234",                                // EAN / UPC
	'e': "0123",                                 // GS1 DataBar
	'F': "01234",                                // Codabar
	'G': "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", // Code 93
	'I': "0123",                                 // Interleaved 2 of 5
	'L': "0123456",                              // PDF417
	'Q': "0123456",                              // QR Code
	'z': "0123456789ABC",                        // Aztec
	'X': "0123456789ABCDEF",                     // other
}

// SplitAIM splits a known AIM symbology identifier ("]Q1", "]C0", "]E0",
// "]d2", ...) off the front of data. Unknown or malformed prefixes are not
// identifiers: SplitAIM returns data unchanged and sym "".
func SplitAIM(data string) (code, sym string) {
	if len(data) < 3 || data[0] != ']' {
		return data, ""
	}
	mods, ok := aimIDs[data[1]]
	if !ok || !strings.ContainsRune(mods, rune(data[2])) {
		return data, ""
	}
	return data[3:], data[:3]
}

// Dedup suppresses a scanner's repeats: a code seen again within Window of
// the time it was accepted is the same scan (a customer holding the phone
// under a presentation scanner, or scanning it twice between two items).
// Other codes, and the same code after the window, pass. The zero Window
// disables suppression. Times come from the caller (an injected clock), not
// from Dedup. Not safe for concurrent use.
type Dedup struct {
	Window time.Duration

	seen map[string]time.Time // accepted codes still inside their window
}

// maxDedup bounds the remembered codes (a scanner cannot produce more
// within a sensible window; past it the oldest entries are forgotten early).
const maxDedup = 1024

// Duplicate reports whether code at time at repeats a code accepted within
// Window before. A duplicate does not extend the window: a code held under
// the scanner is reported again once per Window.
func (d *Dedup) Duplicate(code string, at time.Time) bool {
	if d.Window <= 0 {
		return false
	}
	if d.seen == nil {
		d.seen = make(map[string]time.Time)
	}
	if t, ok := d.seen[code]; ok {
		if age := at.Sub(t); age >= 0 && age < d.Window {
			return true
		}
	}
	if len(d.seen) >= maxDedup {
		for c, t := range d.seen {
			if age := at.Sub(t); age < 0 || age >= d.Window || len(d.seen) >= maxDedup {
				delete(d.seen, c)
			}
		}
	}
	d.seen[code] = at
	return false
}
