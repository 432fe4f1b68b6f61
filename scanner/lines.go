package scanner

import "time"

// LineOptions configure a LineFramer.
type LineOptions struct {
	// MaxLength bounds one line (default DefaultMaxLength). Longer input
	// without a terminator is dropped up to the next terminator and counted
	// in Stats.Dropped.
	MaxLength int
	// IdleFlush, when positive, emits a line without terminator after this
	// long without new bytes (for scanners set to send no suffix). Default 0:
	// off - serial scanners normally end codes with CR or CR LF.
	IdleFlush time.Duration
}

// LineFramer splits a serial byte stream into lines ended by CR, LF or
// CR LF. Chunks may split anywhere, a CR LF pair included. Empty lines are
// skipped.
type LineFramer struct {
	opts   LineOptions
	buf    []byte
	lastCR bool // the previous byte was CR: a following LF ends nothing
	over   bool
	last   time.Time
	stats  Stats
}

// NewLineFramer returns a framer with o's defaults filled in.
func NewLineFramer(o LineOptions) *LineFramer {
	if o.MaxLength <= 0 {
		o.MaxLength = DefaultMaxLength
	}
	return &LineFramer{opts: o}
}

// Feed frames one chunk received at at.
func (f *LineFramer) Feed(b []byte, at time.Time) []Raw {
	out := f.idle(at, nil)
	if len(b) > 0 {
		f.last = at
	}
	for _, c := range b {
		switch {
		case c == '\r':
			out = f.flush(at, out)
			f.lastCR = true
			continue
		case c == '\n':
			if !f.lastCR {
				out = f.flush(at, out)
			}
		case f.over:
		case len(f.buf) >= f.opts.MaxLength:
			f.over = true
			f.buf = f.buf[:0]
			f.stats.Dropped++
		default:
			f.buf = append(f.buf, c)
		}
		f.lastCR = false
	}
	return out
}

func (f *LineFramer) flush(at time.Time, out []Raw) []Raw {
	if len(f.buf) > 0 && !f.over {
		out = append(out, Raw{Data: string(f.buf), At: at})
	}
	f.buf, f.over = f.buf[:0], false
	return out
}

func (f *LineFramer) idle(now time.Time, out []Raw) []Raw {
	if f.opts.IdleFlush > 0 && (len(f.buf) > 0 || f.over) && now.Sub(f.last) >= f.opts.IdleFlush {
		return f.flush(now, out)
	}
	return out
}

// Idle flushes a line without terminator once IdleFlush has passed.
func (f *LineFramer) Idle(now time.Time) []Raw { return f.idle(now, nil) }

// Reset forgets a partial line.
func (f *LineFramer) Reset() { f.buf, f.over, f.lastCR = f.buf[:0], false, false }

// Stats returns the counts of skipped input.
func (f *LineFramer) Stats() Stats { return f.stats }

var (
	_ Decoder = (*LineFramer)(nil)
	_ Decoder = (*KeyboardDecoder)(nil)
	_ Decoder = (*HIDPOSDecoder)(nil)
)
