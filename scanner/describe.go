package scanner

import (
	"fmt"

	"github.com/posagent/posagent/paycode"
)

// Describe formats a scan for people (the technician's `posagent scan`):
// the code, masked when it is a payment code unless showCodes, its
// symbology, and what it is - the wallet, or "barcode" for anything that
// must not reach the gateway.
func Describe(s Scan, showCodes bool) string {
	kind := "barcode"
	code := s.Code
	if w, ok := paycode.Classify(s.Code); ok {
		kind = w + " payment code"
		if !showCodes {
			code = paycode.Mask(code)
		}
	}
	sym := s.Symbology
	if sym == "" {
		sym = "-"
	}
	return fmt.Sprintf("%-34q %-4s %s (%d chars)", code, sym, kind, len(s.Code))
}
