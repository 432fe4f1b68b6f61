package paycode

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxInput is the longest scan accepted, in bytes: a QR code's contents
// can be long (a URL, a loyalty card), but never longer than this.
const MaxInput = 4096

// Input errors (CheckInput wraps them with the detail).
var (
	ErrInputTooLong = errors.New("too long")
	ErrInputControl = errors.New("contains a control character")
	ErrInputUTF8    = errors.New("is not valid UTF-8")
)

// CheckInput is the one rule for what a scanner, the Android bridge or a
// POS (POST /v1/scans) may hand over as a scanned code, before anything
// is made of it: at most MaxInput bytes of valid UTF-8 with no control
// character but tab, CR and LF (which some scanners send inside
// multi-line QR contents). A NUL byte or an escape sequence is refused.
func CheckInput(s string) error {
	if len(s) > MaxInput {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrInputTooLong, len(s), MaxInput)
	}
	if !utf8.ValidString(s) {
		return ErrInputUTF8
	}
	for _, r := range s {
		if (r < 0x20 && r != '\t' && r != '\r' && r != '\n') || r == 0x7F {
			return fmt.Errorf("%w %U", ErrInputControl, r)
		}
	}
	return nil
}
