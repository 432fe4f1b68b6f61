package scanner

import (
	"bytes"
	"time"
)

// HID POS report layouts (usage page 0x8C, Bar Code Scanner).
const (
	LayoutAuto      = ""          // Honeywell when the AIM bytes start with ']', else Newland
	LayoutHoneywell = "honeywell" // [0] length, [1..3] AIM id, [4..59] data, [62] continuation
	LayoutNewland   = "newland"   // [1] length, [2..57] data, [62] symbology
)

// HID POS length conventions: whether the Honeywell length byte counts the
// three AIM bytes differs by vendor.
const (
	LengthAuto    = ""         // decide per report (see HIDPOSDecoder)
	LengthData    = "data"     // length is the data only
	LengthWithAIM = "with-aim" // length includes the 3 AIM bytes
)

// POSReportID is the input report id of HID POS scanned data.
const POSReportID = 0x02

// HIDPOSOptions configure an HIDPOSDecoder.
type HIDPOSOptions struct {
	Layout    string // LayoutAuto (default), LayoutHoneywell, LayoutNewland
	Length    string // LengthAuto (default), LengthData, LengthWithAIM
	MaxLength int    // bound on a code, continuations included (default DefaultMaxLength)
}

// HIDPOSDecoder decodes HID POS scanners. Offsets below are after the
// report id byte (0x02); a report is normally 64 bytes with the id, and
// bytes past the end of a shorter report read as 0.
//
// Honeywell: [0] length, [1..3] AIM identifier ("]Q1"), [4..59] data,
// [62] continuation flag (non-zero: more reports follow, concatenate them).
// The AIM identifier of the first report is kept, put back in front of the
// data so that the usual AIM handling applies.
//
// Newland (FM430): [1] length, [2..57] data, [62] a vendor symbology byte
// (not AIM; not reported).
//
// With LengthAuto a Honeywell length n is read as "data only" unless the
// last three of those n bytes are all padding zeros, or n overruns the
// 56-byte field by at most 3, in which case n counted the AIM bytes. (A
// code that really ends in three NUL bytes needs LengthData.)
type HIDPOSDecoder struct {
	opts  HIDPOSOptions
	buf   []byte // data of the reports so far (continuations)
	aim   []byte
	over  bool
	stats Stats
}

// NewHIDPOSDecoder returns a decoder with o's defaults filled in.
func NewHIDPOSDecoder(o HIDPOSOptions) *HIDPOSDecoder {
	if o.MaxLength <= 0 {
		o.MaxLength = DefaultMaxLength
	}
	return &HIDPOSDecoder{opts: o}
}

// at returns p[i], or 0 past the end.
func at(p []byte, i int) byte {
	if i < len(p) {
		return p[i]
	}
	return 0
}

// field returns p[from:to] clipped to p.
func field(p []byte, from, to int) []byte {
	if from > len(p) {
		return nil
	}
	return p[from:min(to, len(p))]
}

// Feed decodes one report received at t.
func (d *HIDPOSDecoder) Feed(r []byte, t time.Time) []Raw {
	if len(r) == 0 {
		d.stats.Garbage++
		return nil
	}
	if r[0] != POSReportID {
		d.stats.Other++
		return nil
	}
	p := r[1:]
	if len(p) < 2 {
		d.stats.Garbage++
		return nil
	}
	var data []byte
	more := false
	switch d.layout(p) {
	case LayoutHoneywell:
		var ok bool
		if data, more, ok = d.honeywell(p); !ok {
			d.stats.Garbage++
			d.drop()
			return nil
		}
	case LayoutNewland:
		n := int(p[1])
		f := field(p, 2, 58)
		if n > len(f) {
			d.stats.Garbage++
			d.drop()
			return nil
		}
		data = f[:n]
	default:
		d.stats.Garbage++
		return nil
	}
	return d.collect(data, more, t)
}

// layout is the configured layout, or for LayoutAuto the one the report
// p (after its id) looks like.
func (d *HIDPOSDecoder) layout(p []byte) string {
	layout := d.opts.Layout
	if layout == LayoutAuto {
		layout = LayoutNewland
		if at(p, 1) == ']' {
			layout = LayoutHoneywell
		}
	}
	return layout
}

// honeywell reads a Honeywell report p (after its id): its data, whether
// more reports follow, and false when its length does not fit. The AIM
// identifier of a code's first report is kept in d.aim.
func (d *HIDPOSDecoder) honeywell(p []byte) (data []byte, more, ok bool) {
	n := int(p[0])
	f := field(p, 4, 60) // the 56-byte data field
	switch d.opts.Length {
	case LengthWithAIM:
		n -= 3
	case LengthData:
	default:
		// A length that overruns the field by up to 3, or whose last 3
		// bytes are padding, counted the AIM bytes.
		if n > len(f) && n-3 <= len(f) || n >= 3 && n <= len(f) && bytes.Count(f[n-3:n], []byte{0}) == 3 {
			n -= 3
		}
	}
	if n < 0 || n > len(f) {
		return nil, false, false
	}
	data = f[:n]
	more = at(p, 62) != 0
	if len(d.buf) == 0 && !d.over {
		d.aim = append(d.aim[:0], field(p, 1, 4)...)
		if code, sym := SplitAIM(string(d.aim)); code != "" || sym == "" {
			d.aim = d.aim[:0] // not a known identifier: keep no prefix
		}
	}
	return data, more, true
}

// collect adds a report's data to the code so far (dropping a code over
// MaxLength) and, unless more reports follow, returns the code.
func (d *HIDPOSDecoder) collect(data []byte, more bool, t time.Time) []Raw {
	if !d.over {
		if len(d.buf)+len(data) > d.opts.MaxLength {
			d.over = true
			d.stats.Dropped++
			d.buf = d.buf[:0]
		} else {
			d.buf = append(d.buf, data...)
		}
	}
	if more {
		return nil
	}
	var out []Raw
	if !d.over && len(d.buf) > 0 {
		out = append(out, Raw{Data: string(d.aim) + string(d.buf), At: t})
	}
	d.drop()
	return out
}

func (d *HIDPOSDecoder) drop() {
	d.buf, d.aim, d.over = d.buf[:0], d.aim[:0], false
}

// Idle does nothing: HID POS reports carry their own framing.
func (d *HIDPOSDecoder) Idle(time.Time) []Raw { return nil }

// Reset forgets a code split over continuation reports.
func (d *HIDPOSDecoder) Reset() { d.drop() }

// Stats returns the counts of skipped input.
func (d *HIDPOSDecoder) Stats() Stats { return d.stats }
