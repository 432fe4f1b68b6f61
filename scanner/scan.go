package scanner

import "time"

// Scan is one code read by a scanner (or posted by a bridge or the POS).
type Scan struct {
	Code      string    // the code, AIM prefix stripped
	Symbology string    // the AIM identifier when the scanner sent one ("]Q1"), else ""
	Device    string    // the configured scanner name ("counter"), "api", "bridge", ...
	At        time.Time // when the terminator (or idle flush) was seen
}
