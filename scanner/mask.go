package scanner

import (
	"strings"
	"unicode"
)

// MaskCodesIn masks every payment code found inside s, for echoing a
// barcode that is not itself a bare payment code (a scan.barcode event, a
// log line). Classify accepts only a bare code; a code is still recognised
// here when it is
//
//   - wrapped in an AIM symbology identifier ("]Q1134567890123456789",
//     "]E0..."), whose modifier digit would otherwise run into the code;
//   - split or surrounded by control, format or bidirectional characters
//     (CR, GS, U+200E, U+202E, U+2066, zero-width spaces, a BOM ...);
//   - written with full-width digits;
//   - embedded in a longer string ("PAY:134567890123456789;").
//
// When s holds a payment code, the result is s without its invisible
// characters and with each code masked as MaskCode does (first and last 4
// digits kept). When it holds none, s is returned unchanged, control
// characters included (GS1 barcodes use GS as a separator). It is pure.
func MaskCodesIn(s string) string {
	type ch struct {
		r     rune
		digit byte // '0'-'9' for a (half- or full-width) digit, else 0
	}
	var cs []ch
	for _, r := range s {
		if invisibleRune(r) {
			continue
		}
		c := ch{r: r}
		switch {
		case r >= '0' && r <= '9':
			c.digit = byte(r)
		case r >= '０' && r <= '９':
			c.digit = byte('0' + (r - '０'))
		}
		cs = append(cs, c)
	}
	mask := make([]bool, len(cs))
	found := false
	for i := 0; i < len(cs); {
		if cs[i].digit == 0 {
			i++
			continue
		}
		j := i
		var d []byte
		for j < len(cs) && cs[j].digit != 0 {
			d = append(d, cs[j].digit)
			j++
		}
		start := -1
		if _, ok := Classify(string(d)); ok {
			start = i
		} else if i >= 2 && cs[i-2].r == ']' && isASCIILetter(cs[i-1].r) && len(d) > 1 {
			// "]Q1" + code: the AIM modifier digit is not part of the code.
			if _, ok := Classify(string(d[1:])); ok {
				start = i + 1
			}
		}
		if start >= 0 {
			found = true
			n := j - start
			for k := start + 4; k < j-4 && n > 8; k++ {
				mask[k] = true
			}
		}
		i = j
	}
	if !found {
		return s
	}
	var b strings.Builder
	for i, c := range cs {
		if mask[i] {
			b.WriteByte('*')
		} else {
			b.WriteRune(c.r)
		}
	}
	return b.String()
}

// invisibleRune: control and format characters (bidi controls, zero-width
// characters, the BOM), which a display does not show but which split a
// code for a naive search.
func invisibleRune(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == unicode.ReplacementChar
}

func isASCIILetter(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' }
