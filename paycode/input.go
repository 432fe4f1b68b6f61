package paycode

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxInput is the longest scan accepted, in bytes: a QR code's contents
// can be long (a URL, a loyalty card), but never longer than this.
const MaxInput = 4096

// ErrInput is what every CheckInput error is (errors.Is).
var ErrInput = errors.New("paycode: not a scan")

// inputError is a CheckInput error: its text says what is wrong ("is 5000
// bytes, at most 4096"), to follow the name of the field.
type inputError string

func (e inputError) Error() string        { return string(e) }
func (e inputError) Is(target error) bool { return target == ErrInput }

// CheckInput is the one rule for what a scanner, the Android bridge or a
// POS (POST /v1/scans) may hand over as a scanned code, before anything
// is made of it: at most MaxInput bytes of valid UTF-8 with no control
// character but tab, CR and LF (which some scanners send inside
// multi-line QR contents). A NUL byte or an escape sequence is refused.
func CheckInput(s string) error {
	if len(s) > MaxInput {
		return inputError(fmt.Sprintf("is %d bytes, at most %d", len(s), MaxInput))
	}
	if !utf8.ValidString(s) {
		return inputError("is not valid UTF-8")
	}
	for _, r := range s {
		if (r < 0x20 && r != '\t' && r != '\r' && r != '\n') || r == 0x7F {
			return inputError(fmt.Sprintf("contains control character %U", r))
		}
	}
	return nil
}
