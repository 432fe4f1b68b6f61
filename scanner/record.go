package scanner

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Report is one read of a recorded device stream: a HID report, or a chunk
// of serial bytes, and the gap since the previous one.
type Report struct {
	Gap  time.Duration
	Data []byte
}

// DefaultGap is the gap of a recorded report written without one (a
// scanner types a key every 1-20 ms).
const DefaultGap = 2 * time.Millisecond

// ParseRecording reads the recording format of testdata/hid/*.hex: one
// report per line in hex (spaces allowed), '#' starts a comment line, and an
// optional leading "+DURATION" (Go syntax, "+80ms") is the gap since the
// previous report (default DefaultGap). Errors give the line number.
func ParseRecording(r io.Reader) ([]Report, error) {
	var out []Report
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		rep := Report{Gap: DefaultGap}
		if strings.HasPrefix(s, "+") {
			gap, rest, _ := strings.Cut(s[1:], " ")
			d, err := time.ParseDuration(gap)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("scanner: recording line %d: gap %q: want a duration like +80ms", line, gap)
			}
			rep.Gap, s = d, rest
		}
		data, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
		if err != nil {
			return nil, fmt.Errorf("scanner: recording line %d: %w", line, err)
		}
		if len(data) == 0 {
			return nil, fmt.Errorf("scanner: recording line %d: a gap without a report", line)
		}
		rep.Data = data
		out = append(out, rep)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("scanner: recording: %w", err)
	}
	return out, nil
}

// FormatReport writes one report line of the recording format.
func FormatReport(rep Report) string {
	var b strings.Builder
	if rep.Gap != DefaultGap {
		fmt.Fprintf(&b, "+%v ", rep.Gap)
	}
	for i, c := range rep.Data {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%02x", c)
	}
	return b.String()
}

// Record wraps a device so that every non-empty Read is also written to w
// in the recording format (gaps rounded to the millisecond), to capture
// real devices for testdata: `posagent scan --hid ... --record file.hex`.
// Write errors stop the recording, never the reading.
func Record(rc io.ReadCloser, w io.Writer, clock func() time.Time) io.ReadCloser {
	if clock == nil {
		clock = time.Now
	}
	return &recorder{rc: rc, w: w, clock: clock}
}

type recorder struct {
	rc    io.ReadCloser
	w     io.Writer
	clock func() time.Time

	mu   sync.Mutex // guards last and err
	last time.Time
	err  error
}

func (r *recorder) Read(b []byte) (int, error) {
	n, err := r.rc.Read(b)
	if n > 0 {
		r.mu.Lock()
		now := r.clock()
		gap := DefaultGap
		if !r.last.IsZero() {
			gap = now.Sub(r.last).Round(time.Millisecond)
		}
		r.last = now
		if r.err == nil {
			_, r.err = fmt.Fprintln(r.w, FormatReport(Report{Gap: gap, Data: b[:n]}))
		}
		r.mu.Unlock()
	}
	return n, err
}

func (r *recorder) Close() error { return r.rc.Close() }
