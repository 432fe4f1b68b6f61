package scanner

import "strings"

// BareCode returns the payment code a scan carries when the scanner
// wrapped it: an AIM symbology identifier in front ("]Q1", "]C0": a
// bracket, a letter and one modifier character), invisible control,
// format or bidirectional characters around or inside it. ok is false
// unless what remains is exactly one payment code (Classify): a code
// embedded in a longer string is not a payment code, only masked
// (MaskCodesIn). symbology is the AIM identifier, when there was one.
func BareCode(s string) (code, symbology string, ok bool) {
	var b strings.Builder
	for _, r := range s {
		if invisibleRune(r) || r == ' ' {
			continue
		}
		b.WriteRune(r)
	}
	t := b.String()
	if len(t) >= 3 && t[0] == ']' && isASCIILetter(rune(t[1])) {
		symbology, t = t[:3], t[3:]
	}
	if _, ok := Classify(t); !ok {
		return "", "", false
	}
	return t, symbology, true
}
