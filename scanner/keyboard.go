package scanner

import "time"

// KeyboardOptions configure a KeyboardDecoder. Zero values are the defaults.
type KeyboardOptions struct {
	// ReportID, when not 0, says reports are numbered: each is 9 bytes, the
	// first being this id. Reports with another id (a consumer-control key,
	// say) are skipped and counted in Stats.Other. 0: 8-byte boot reports.
	ReportID byte
	// TabEnds makes Tab a terminator like Enter (some scanners are set to
	// send Tab); otherwise Tab is a character of the code.
	TabEnds bool
	// IdleFlush emits a code that has no terminator after this long without
	// a new key. Default 50 ms (scanners type a key every 1-20 ms); negative
	// disables it.
	IdleFlush time.Duration
	// MaxLength bounds one code (default DefaultMaxLength).
	MaxLength int
}

// Keyboard usage ids (HID usage page 0x07) with a meaning of their own.
const (
	usageRollOver = 0x01
	usageEnter    = 0x28
	usageTab      = 0x2B
	usageKPEnter  = 0x58
)

// usTable maps a keyboard usage to its character on a US layout, unshifted
// and shifted. Zero means "no character".
var usTable = func() (t [256][2]byte) {
	for u := 0x04; u <= 0x1D; u++ {
		t[u] = [2]byte{byte('a' + u - 0x04), byte('A' + u - 0x04)}
	}
	digits, shifted := "1234567890", "!@#$%^&*()"
	for i := 0; i < 10; i++ {
		t[0x1E+i] = [2]byte{digits[i], shifted[i]}
	}
	t[0x2C] = [2]byte{' ', ' '}
	t[0x2B] = [2]byte{'\t', '\t'}
	pairs := []struct {
		u    int
		a, b byte
	}{
		{0x2D, '-', '_'}, {0x2E, '=', '+'}, {0x2F, '[', '{'}, {0x30, ']', '}'}, {0x31, '\\', '|'},
		{0x32, '#', '~'}, // non-US # and ~ (ISO key next to Enter)
		{0x33, ';', ':'}, {0x34, '\'', '"'}, {0x35, '`', '~'}, {0x36, ',', '<'}, {0x37, '.', '>'}, {0x38, '/', '?'},
		{0x54, '/', '/'}, {0x55, '*', '*'}, {0x56, '-', '-'}, {0x57, '+', '+'}, // keypad operators
		{0x63, '.', '.'},
	}
	for _, p := range pairs {
		t[p.u] = [2]byte{p.a, p.b}
	}
	for i := 0; i < 9; i++ { // KP 1-9
		t[0x59+i] = [2]byte{byte('1' + i), byte('1' + i)}
	}
	t[0x62] = [2]byte{'0', '0'} // KP 0
	return t
}()

// KeyboardDecoder decodes keyboard-wedge scanners: HID boot keyboard
// reports (byte 0 modifiers, byte 1 reserved, bytes 2-7 the usages of the
// keys held now). A report is a snapshot, so only usages new against the
// previous report are keystrokes: "11" arrives as down, up, down, up.
type KeyboardDecoder struct {
	opts  KeyboardOptions
	prev  [6]byte
	buf   []byte
	last  time.Time // the last new key
	over  bool      // the current code exceeded MaxLength: drop until the terminator
	stats Stats
}

// NewKeyboardDecoder returns a decoder with o's defaults filled in.
func NewKeyboardDecoder(o KeyboardOptions) *KeyboardDecoder {
	if o.IdleFlush == 0 {
		o.IdleFlush = 50 * time.Millisecond
	}
	if o.MaxLength <= 0 {
		o.MaxLength = DefaultMaxLength
	}
	return &KeyboardDecoder{opts: o}
}

// Feed decodes one report received at at.
func (d *KeyboardDecoder) Feed(r []byte, at time.Time) []Raw {
	out := d.idle(at, nil)
	if d.opts.ReportID != 0 {
		if len(r) > 0 && r[0] != d.opts.ReportID {
			d.stats.Other++
			return out
		}
		if len(r) != 9 {
			d.stats.Garbage++
			return out
		}
		r = r[1:]
	} else if len(r) != 8 {
		d.stats.Garbage++
		return out
	}
	var keys [6]byte
	copy(keys[:], r[2:8])
	for _, k := range keys {
		if k == usageRollOver {
			// Too many keys at once: the report carries no key state. Keep
			// the previous snapshot so the next real report diffs correctly.
			d.stats.RollOver++
			return out
		}
	}
	shift := r[0]&0x22 != 0 // left (bit 1) or right (bit 5) Shift
	ctrlAlt := r[0]&0xDD != 0
	for _, k := range keys {
		if k == 0 || d.held(k) {
			continue
		}
		d.last = at
		switch {
		case k == usageEnter || k == usageKPEnter || (k == usageTab && d.opts.TabEnds):
			out = d.flush(at, out)
		case ctrlAlt:
			d.stats.Garbage++ // a control chord is not part of a code
		case usTable[k][0] == 0:
			d.stats.Garbage++ // unknown usage
		default:
			c := usTable[k][0]
			if shift {
				c = usTable[k][1]
			}
			d.add(c)
		}
	}
	d.prev = keys
	return out
}

func (d *KeyboardDecoder) held(k byte) bool {
	for _, p := range d.prev {
		if p == k {
			return true
		}
	}
	return false
}

func (d *KeyboardDecoder) add(c byte) {
	if d.over {
		return
	}
	if len(d.buf) >= d.opts.MaxLength {
		d.over = true
		d.buf = d.buf[:0]
		d.stats.Dropped++
		return
	}
	d.buf = append(d.buf, c)
}

func (d *KeyboardDecoder) flush(at time.Time, out []Raw) []Raw {
	if len(d.buf) > 0 {
		out = append(out, Raw{Data: string(d.buf), At: at})
	}
	d.buf = d.buf[:0]
	d.over = false
	return out
}

func (d *KeyboardDecoder) idle(now time.Time, out []Raw) []Raw {
	if d.opts.IdleFlush > 0 && (len(d.buf) > 0 || d.over) && now.Sub(d.last) >= d.opts.IdleFlush {
		return d.flush(now, out)
	}
	return out
}

// Idle flushes a code without terminator when IdleFlush has passed since
// its last key.
func (d *KeyboardDecoder) Idle(now time.Time) []Raw { return d.idle(now, nil) }

// Reset forgets the partial code and the key snapshot.
func (d *KeyboardDecoder) Reset() {
	d.buf, d.over, d.prev = d.buf[:0], false, [6]byte{}
}

// Stats returns the counts of skipped input.
func (d *KeyboardDecoder) Stats() Stats { return d.stats }
