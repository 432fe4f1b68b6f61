package scanner

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

var t0 = time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC)

// kb builds a boot keyboard report.
func kb(mod byte, keys ...byte) []byte {
	r := make([]byte, 8)
	r[0] = mod
	copy(r[2:], keys)
	return r
}

// feedAll feeds reports 2 ms apart and returns the codes and the time after.
func feedAll(d Decoder, reports [][]byte) ([]string, time.Time) {
	var got []string
	at := t0
	for _, r := range reports {
		at = at.Add(2 * time.Millisecond)
		for _, raw := range d.Feed(r, at) {
			got = append(got, raw.Data)
		}
	}
	return got, at
}

func TestKeyboardDecoder(t *testing.T) {
	up := kb(0)
	tests := []struct {
		name    string
		opts    KeyboardOptions
		reports [][]byte
		want    []string
		stats   Stats
	}{
		{"digits and Enter", KeyboardOptions{}, [][]byte{kb(0, 0x1E), up, kb(0, 0x27), up, kb(0, 0x28), up}, []string{"10"}, Stats{}},
		{"repeated digit needs the release", KeyboardOptions{}, [][]byte{kb(0, 0x1E), up, kb(0, 0x1E), kb(0, 0x1E), up, kb(0, 0x28)}, []string{"11"}, Stats{}},
		{"two keys in one report", KeyboardOptions{}, [][]byte{kb(0, 0x1E, 0x1F), kb(0, 0x1F), up, kb(0, 0x58)}, []string{"12"}, Stats{}},
		{"left and right shift", KeyboardOptions{}, [][]byte{kb(0x02, 0x04), up, kb(0x20, 0x1E), up, kb(0, 0x04), up, kb(0x22, 0x38), up, kb(0, 0x28)}, []string{"A!a?"}, Stats{}},
		{"keypad digits and KP Enter", KeyboardOptions{}, [][]byte{kb(0, 0x59), up, kb(0, 0x62), up, kb(0, 0x61), up, kb(0, 0x63), up, kb(0, 0x58)}, []string{"109."}, Stats{}},
		{"tab is a character by default", KeyboardOptions{}, [][]byte{kb(0, 0x04), up, kb(0, 0x2B), up, kb(0, 0x05), up, kb(0, 0x28)}, []string{"a\tb"}, Stats{}},
		{"tab ends when configured", KeyboardOptions{TabEnds: true}, [][]byte{kb(0, 0x04), up, kb(0, 0x2B), up, kb(0, 0x05), up, kb(0, 0x28)}, []string{"a", "b"}, Stats{}},
		{"empty Enter emits nothing", KeyboardOptions{}, [][]byte{kb(0, 0x28), up, kb(0, 0x28)}, nil, Stats{}},
		{"roll-over error ignored, no re-typing after it", KeyboardOptions{}, [][]byte{kb(0, 0x1E), kb(0, 1, 1, 1, 1, 1, 1), kb(0, 0x1E), up, kb(0, 0x28)}, []string{"1"}, Stats{RollOver: 1}},
		{"wrong lengths and unknown usage", KeyboardOptions{}, [][]byte{{0, 0, 0x1E}, make([]byte, 9), kb(0, 0x3A), up, kb(0, 0x1F), up, kb(0, 0x28)}, []string{"2"}, Stats{Garbage: 3}},
		{"ctrl and alt chords skipped", KeyboardOptions{}, [][]byte{kb(0x01, 0x06), up, kb(0x40, 0x04), up, kb(0, 0x20), up, kb(0, 0x28)}, []string{"3"}, Stats{Garbage: 2}},
		{"numbered reports", KeyboardOptions{ReportID: 1}, [][]byte{append([]byte{1}, kb(0, 0x21)...), {3, 0xE9, 0}, append([]byte{1}, up...), append([]byte{1}, kb(0, 0x28)...), {1, 0, 0, 0x1E}}, []string{"4"}, Stats{Other: 1, Garbage: 1}},
		{"max length drops to the terminator", KeyboardOptions{MaxLength: 2}, [][]byte{kb(0, 0x1E), up, kb(0, 0x1F), up, kb(0, 0x20), up, kb(0, 0x28), up, kb(0, 0x21), up, kb(0, 0x28)}, []string{"4"}, Stats{Dropped: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewKeyboardDecoder(tt.opts)
			got, _ := feedAll(d, tt.reports)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("codes %q, want %q", got, tt.want)
			}
			if d.Stats() != tt.stats {
				t.Errorf("stats %+v, want %+v", d.Stats(), tt.stats)
			}
		})
	}
}

func TestKeyboardIdleFlush(t *testing.T) {
	d := NewKeyboardDecoder(KeyboardOptions{})
	_, at := feedAll(d, [][]byte{kb(0, 0x1E), kb(0), kb(0, 0x1F), kb(0)}) // "12", no Enter; last key at t0+6ms
	lastKey := at.Add(-2 * time.Millisecond)
	if got := d.Idle(lastKey.Add(49 * time.Millisecond)); len(got) != 0 {
		t.Fatalf("flushed before the idle gap: %v", got)
	}
	got := d.Idle(lastKey.Add(50 * time.Millisecond))
	if len(got) != 1 || got[0].Data != "12" || !got[0].At.Equal(lastKey.Add(50*time.Millisecond)) {
		t.Fatalf("idle flush: %+v", got)
	}
	if got := d.Idle(lastKey.Add(time.Second)); len(got) != 0 {
		t.Fatalf("flushed twice: %v", got)
	}

	// A new key after the gap first flushes the old code.
	feedAll(d, [][]byte{kb(0, 0x20)})
	got = d.Feed(kb(0, 0x21), t0.Add(time.Second))
	if len(got) != 1 || got[0].Data != "3" {
		t.Fatalf("flush on the next report: %+v", got)
	}

	// Negative IdleFlush disables it.
	d = NewKeyboardDecoder(KeyboardOptions{IdleFlush: -1})
	feedAll(d, [][]byte{kb(0, 0x1E)})
	if got := d.Idle(t0.Add(time.Hour)); len(got) != 0 {
		t.Fatalf("idle flush while disabled: %v", got)
	}
}

// pos builds a 64-byte HID POS report (id 0x02) from fields after the id.
func pos(fields map[int][]byte) []byte {
	r := make([]byte, 64)
	r[0] = POSReportID
	for off, b := range fields {
		copy(r[1+off:], b)
	}
	return r
}

func TestHIDPOSDecoder(t *testing.T) {
	long := strings.Repeat("x", 56)
	tests := []struct {
		name    string
		opts    HIDPOSOptions
		reports [][]byte
		want    []string
		stats   Stats
	}{
		{"honeywell, length = data", HIDPOSOptions{}, [][]byte{pos(map[int][]byte{0: {18}, 1: []byte("]Q1"), 4: []byte("134567890123456789")})}, []string{"]Q1134567890123456789"}, Stats{}},
		{"honeywell, length counts AIM (auto)", HIDPOSOptions{}, [][]byte{pos(map[int][]byte{0: {16}, 1: []byte("]E0"), 4: []byte("4006381333931")})}, []string{"]E04006381333931"}, Stats{}},
		{"honeywell, length counts AIM (configured)", HIDPOSOptions{Length: LengthWithAIM}, [][]byte{pos(map[int][]byte{0: {5}, 1: []byte("]C0"), 4: []byte("AB")})}, []string{"]C0AB"}, Stats{}},
		{"honeywell, data length configured", HIDPOSOptions{Length: LengthData, Layout: LayoutHoneywell}, [][]byte{pos(map[int][]byte{0: {5}, 1: []byte("]C0"), 4: []byte("AB\x00\x00\x00")})}, []string{"]C0AB\x00\x00\x00"}, Stats{}},
		{"honeywell, continuation", HIDPOSOptions{}, [][]byte{
			pos(map[int][]byte{0: {56}, 1: []byte("]Q1"), 4: []byte(long), 62: {1}}),
			pos(map[int][]byte{0: {3}, 1: []byte("]Q1"), 4: []byte("end")}),
		}, []string{"]Q1" + long + "end"}, Stats{}},
		{"honeywell, unknown AIM dropped", HIDPOSOptions{}, [][]byte{pos(map[int][]byte{0: {2}, 1: []byte("]Zz"), 4: []byte("ok")})}, []string{"ok"}, Stats{}},
		{"newland", HIDPOSOptions{}, [][]byte{pos(map[int][]byte{1: {13}, 2: []byte("6901234567892"), 62: {0x0d}})}, []string{"6901234567892"}, Stats{}},
		{"newland configured", HIDPOSOptions{Layout: LayoutNewland}, [][]byte{pos(map[int][]byte{1: {3}, 2: []byte("]Q1")})}, []string{"]Q1"}, Stats{}},
		{"other report id", HIDPOSOptions{}, [][]byte{{0x04, 1, 2, 3}}, nil, Stats{Other: 1}},
		{"empty and short", HIDPOSOptions{}, [][]byte{{}, {0x02}, {0x02, 5}}, nil, Stats{Garbage: 3}},
		{"length too big", HIDPOSOptions{}, [][]byte{pos(map[int][]byte{0: {200}, 1: []byte("]Q1")}), pos(map[int][]byte{1: {57}})}, nil, Stats{Garbage: 2}},
		{"short report reads zeros", HIDPOSOptions{}, [][]byte{{0x02, 2, ']', 'Q', '1', 'h', 'i'}}, []string{"]Q1hi"}, Stats{}},
		{"max length over continuations", HIDPOSOptions{MaxLength: 60}, [][]byte{
			pos(map[int][]byte{0: {56}, 1: []byte("]Q1"), 4: []byte(long), 62: {1}}),
			pos(map[int][]byte{0: {8}, 1: []byte("]Q1"), 4: []byte("12345678")}),
			pos(map[int][]byte{0: {2}, 1: []byte("]Q1"), 4: []byte("ok")}),
		}, []string{"]Q1ok"}, Stats{Dropped: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewHIDPOSDecoder(tt.opts)
			got, _ := feedAll(d, tt.reports)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("codes %q, want %q", got, tt.want)
			}
			if d.Stats() != tt.stats {
				t.Errorf("stats %+v, want %+v", d.Stats(), tt.stats)
			}
		})
	}
}

// frameReader reads r to the end in whatever chunks it yields.
func frameReader(t *testing.T, f *LineFramer, r io.Reader) []string {
	t.Helper()
	var got []string
	buf := make([]byte, 7)
	for {
		n, err := r.Read(buf)
		for _, raw := range f.Feed(buf[:n], t0) {
			got = append(got, raw.Data)
		}
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestLineFramer(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		max   int
		want  []string
		stats Stats
	}{
		{"CR", "134567890123456789\r6901234567892\r", 0, []string{"134567890123456789", "6901234567892"}, Stats{}},
		{"LF", "a\nb\n", 0, []string{"a", "b"}, Stats{}},
		{"CR LF", "a\r\nb\r\n", 0, []string{"a", "b"}, Stats{}},
		{"mixed and empty lines", "\r\n\ra\n\nb\r\r\nc\n", 0, []string{"a", "b", "c"}, Stats{}},
		{"no terminator stays buffered", "abc", 0, nil, Stats{}},
		{"too long dropped to the terminator", "123456789012\rok\r", 10, []string{"ok"}, Stats{Dropped: 1}},
		{"AIM kept for later", "]Q1134567890123456789\r\n", 0, []string{"]Q1134567890123456789"}, Stats{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			readers := map[string]func() io.Reader{
				"whole":   func() io.Reader { return strings.NewReader(tt.in) },
				"onebyte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(tt.in)) },
				"half":    func() io.Reader { return iotest.HalfReader(strings.NewReader(tt.in)) },
			}
			for name, r := range readers {
				f := NewLineFramer(LineOptions{MaxLength: tt.max})
				got := frameReader(t, f, r())
				if strings.Join(got, "|") != strings.Join(tt.want, "|") {
					t.Errorf("%s: %q, want %q", name, got, tt.want)
				}
				if f.Stats() != tt.stats {
					t.Errorf("%s: stats %+v, want %+v", name, f.Stats(), tt.stats)
				}
			}
		})
	}
}

// TestLineFramerRandomSplits: any split of a stream gives the same lines.
func TestLineFramerRandomSplits(t *testing.T) {
	var in bytes.Buffer
	var want []string
	rng := rand.New(rand.NewPCG(1, 2))
	terms := []string{"\r", "\n", "\r\n"}
	for i := 0; i < 200; i++ {
		code := strings.Repeat(string(rune('0'+i%10)), 1+rng.IntN(30))
		want = append(want, code)
		in.WriteString(code + terms[rng.IntN(3)])
	}
	data := in.Bytes()
	for trial := 0; trial < 50; trial++ {
		f := NewLineFramer(LineOptions{})
		var got []string
		for rest := data; len(rest) > 0; {
			n := 1 + rng.IntN(min(len(rest), 9))
			for _, r := range f.Feed(rest[:n], t0) {
				got = append(got, r.Data)
			}
			rest = rest[n:]
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("trial %d: %d lines, want %d", trial, len(got), len(want))
		}
	}
}

func TestLineFramerIdleFlush(t *testing.T) {
	f := NewLineFramer(LineOptions{IdleFlush: 30 * time.Millisecond})
	f.Feed([]byte("12"), t0)
	f.Feed([]byte("34"), t0.Add(10*time.Millisecond))
	if got := f.Idle(t0.Add(39 * time.Millisecond)); len(got) != 0 {
		t.Fatalf("early flush %v", got)
	}
	if got := f.Idle(t0.Add(40 * time.Millisecond)); len(got) != 1 || got[0].Data != "1234" {
		t.Fatalf("idle flush %v", got)
	}
	if got := NewLineFramer(LineOptions{}).Idle(t0.Add(time.Hour)); got != nil {
		t.Fatalf("idle flush while off: %v", got)
	}
}

func TestSplitAIM(t *testing.T) {
	tests := []struct{ in, code, sym string }{
		{"]Q1134567890123456789", "134567890123456789", "]Q1"},
		{"]C0ABC", "ABC", "]C0"},
		{"]E04006381333931", "4006381333931", "]E0"},
		{"]d2010123", "010123", "]d2"},
		{"]Q9abc", "]Q9abc", ""}, // unknown modifier
		{"]Zzabc", "]Zzabc", ""}, // unknown symbology
		{"]D2abc", "]D2abc", ""}, // case matters: ]D is not Data Matrix
		{"]Q", "]Q", ""},         // too short
		{"]Q1", "", "]Q1"},       // identifier only
		{"Q1abc", "Q1abc", ""},   // no bracket
		{"134567", "134567", ""},
	}
	for _, tt := range tests {
		code, sym := SplitAIM(tt.in)
		if code != tt.code || sym != tt.sym {
			t.Errorf("SplitAIM(%q) = %q, %q; want %q, %q", tt.in, code, sym, tt.code, tt.sym)
		}
	}
}

func TestDedup(t *testing.T) {
	d := Dedup{Window: time.Second}
	steps := []struct {
		code string
		at   time.Duration
		dup  bool
	}{
		{"A", 0, false},
		{"A", 500 * time.Millisecond, true},   // inside the window
		{"A", 999 * time.Millisecond, true},   // a duplicate does not extend the window
		{"A", 1000 * time.Millisecond, false}, // window over
		{"B", 1100 * time.Millisecond, false}, // another code
		{"A", 1200 * time.Millisecond, true},  // A again after B, inside A's window
		{"B", 2099 * time.Millisecond, true},
		{"B", 2100 * time.Millisecond, false},
		{"A", 900 * time.Millisecond, false}, // clock went back: not a duplicate
	}
	for i, s := range steps {
		if got := d.Duplicate(s.code, t0.Add(s.at)); got != s.dup {
			t.Errorf("step %d (%s at %v): duplicate %v, want %v", i, s.code, s.at, got, s.dup)
		}
	}
	for i := 0; i < 3*maxDedup; i++ {
		d.Duplicate(fmt.Sprint(i), t0.Add(3*time.Second))
	}
	if len(d.seen) > maxDedup {
		t.Errorf("dedup remembers %d codes, bound %d", len(d.seen), maxDedup)
	}
	var off Dedup
	first := off.Duplicate("A", t0)
	again := off.Duplicate("A", t0)
	if first || again {
		t.Error("zero window suppressed a repeat")
	}
}
