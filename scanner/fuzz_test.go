package scanner

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// splitReports cuts fuzz input into reports: each starts with a length byte.
func splitReports(data []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		n := int(data[0]) % 72
		data = data[1:]
		n = min(n, len(data))
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

func FuzzKeyboardDecoder(f *testing.F) {
	f.Add([]byte{8, 0, 0, 0x1E, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0x28, 0, 0, 0, 0, 0}, byte(0), false)
	f.Add([]byte{8, 0x22, 0, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 8, 0, 0, 1, 1, 1, 1, 1, 1, 3, 0, 0, 0x58}, byte(0), true)
	f.Add([]byte{9, 1, 0, 0, 0x59, 0, 0, 0, 0, 0, 9, 1, 0, 0, 0x58, 0, 0, 0, 0, 0, 3, 3, 0xE9, 0}, byte(1), false)
	f.Fuzz(func(t *testing.T, data []byte, id byte, tab bool) {
		const max = 16
		d := NewKeyboardDecoder(KeyboardOptions{ReportID: id, TabEnds: tab, MaxLength: max})
		at := t0
		check := func(rs []Raw) {
			for _, r := range rs {
				if r.Data == "" || len(r.Data) > max {
					t.Fatalf("code %q (length %d, max %d)", r.Data, len(r.Data), max)
				}
				if strings.ContainsAny(r.Data, "\r\n\x00") {
					t.Fatalf("code %q holds a control byte", r.Data)
				}
			}
		}
		for i, r := range splitReports(data) {
			at = at.Add(time.Duration(i%90) * time.Millisecond)
			check(d.Feed(r, at))
			check(d.Idle(at.Add(10 * time.Millisecond)))
		}
		s := d.Stats()
		if s.Garbage < 0 || s.RollOver < 0 || s.Dropped < 0 || s.Other < 0 {
			t.Fatalf("stats %+v", s)
		}
	})
}

func FuzzHIDPOSDecoder(f *testing.F) {
	rep := make([]byte, 64)
	rep[0], rep[1] = 2, 5
	copy(rep[2:], "]Q1hello")
	f.Add(append([]byte{64}, rep...), "", "")
	cont := bytes.Clone(rep)
	cont[63] = 1
	f.Add(append(append([]byte{64}, cont...), append([]byte{64}, rep...)...), LayoutHoneywell, LengthWithAIM)
	f.Add([]byte{4, 2, 0, 3, 'a', 3, 2, 0, 200}, LayoutNewland, LengthData)
	f.Fuzz(func(t *testing.T, data []byte, layout, length string) {
		const max = 100
		d := NewHIDPOSDecoder(HIDPOSOptions{Layout: layout, Length: length, MaxLength: max})
		for _, r := range splitReports(data) {
			for _, raw := range d.Feed(r, t0) {
				if raw.Data == "" {
					t.Fatal("empty code")
				}
				code, _ := SplitAIM(raw.Data)
				if len(code) > max {
					t.Fatalf("code of %d bytes, max %d", len(code), max)
				}
			}
		}
	})
}

func FuzzLineFramer(f *testing.F) {
	f.Add([]byte("134567890123456789\r\n6901234567892\r"), uint8(3))
	f.Add([]byte("\r\r\n\n\rabc"), uint8(1))
	f.Add(bytes.Repeat([]byte("x"), 100), uint8(7))
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		const max = 32
		whole := NewLineFramer(LineOptions{MaxLength: max})
		var a []string
		for _, r := range whole.Feed(data, t0) {
			a = append(a, r.Data)
		}
		split := NewLineFramer(LineOptions{MaxLength: max})
		var b []string
		n := int(chunk%16) + 1
		for rest := data; len(rest) > 0; {
			k := min(n, len(rest))
			for _, r := range split.Feed(rest[:k], t0) {
				b = append(b, r.Data)
			}
			rest = rest[k:]
		}
		if strings.Join(a, "\x00") != strings.Join(b, "\x00") || len(a) != len(b) {
			t.Fatalf("split by %d changed the lines: %q vs %q", n, a, b)
		}
		for _, l := range a {
			if l == "" || len(l) > max || strings.ContainsAny(l, "\r\n") {
				t.Fatalf("bad line %q", l)
			}
		}
		if whole.Stats() != split.Stats() {
			t.Fatalf("stats differ: %+v vs %+v", whole.Stats(), split.Stats())
		}
	})
}
