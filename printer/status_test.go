package printer

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeStatus(t *testing.T) {
	tests := []struct {
		name    string
		replies map[byte]byte
		state   string
		err     error
	}{
		{"all clear", map[byte]byte{1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12}, "ok", nil},
		{"paper out (Epson byte)", map[byte]byte{1: 0x1A, 2: 0x32, 3: 0x12, 4: 0x72}, "paper_out", ErrPaperOut},
		{"paper out (bare 0x60)", map[byte]byte{4: 0x60}, "paper_out", ErrPaperOut},
		{"paper near end", map[byte]byte{1: 0x12, 4: 0x1E}, "paper_near_end", nil},
		{"cover open", map[byte]byte{1: 0x1A, 2: 0x16}, "cover_open", ErrCoverOpen},
		{"offline only", map[byte]byte{1: 0x1A, 2: 0x12}, "offline", ErrOffline},
		{"cutter error", map[byte]byte{1: 0x12, 3: 0x1A}, "error", ErrFault},
		{"error occurred (n=2 bit 6)", map[byte]byte{2: 0x52}, "error", ErrFault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Status
			for n := byte(1); n <= 4; n++ {
				if b, ok := tt.replies[n]; ok {
					if err := DecodeStatus(&s, n, b); err != nil {
						t.Fatalf("DecodeStatus(%d, %#x): %v", n, b, err)
					}
				}
			}
			if got := s.State(); got != tt.state {
				t.Errorf("State() = %q, want %q (%+v)", got, tt.state, s)
			}
			if got := s.Err(); !errors.Is(got, tt.err) || (tt.err == nil) != (got == nil) {
				t.Errorf("Err() = %v, want %v", got, tt.err)
			}
		})
	}
}

func TestDecodeStatusRejectsBadInput(t *testing.T) {
	var s Status
	if err := DecodeStatus(&s, 5, 0x12); err == nil || !strings.Contains(err.Error(), "not 1..4") {
		t.Errorf("n=5: err = %v, want a 'not 1..4' error", err)
	}
	for _, b := range []byte{0x13, 0x92, 0xFF} {
		if err := DecodeStatus(&s, 1, b); err == nil || !strings.Contains(err.Error(), "not a status byte") {
			t.Errorf("reply %#x: err = %v, want 'not a status byte'", b, err)
		}
	}
	if s.Known {
		t.Errorf("a rejected reply marked the status known: %+v", s)
	}
}

func TestStatusUnknownAndStrings(t *testing.T) {
	var s Status
	if s.State() != "unknown" || s.String() != "unknown" || s.Err() != nil {
		t.Errorf("zero Status: state %q string %q err %v", s.State(), s.String(), s.Err())
	}
	DecodeStatus(&s, 1, 0x1A)
	DecodeStatus(&s, 4, 0x72)
	if got := s.String(); got != "paper out, offline" {
		t.Errorf("String() = %q", got)
	}
	if got := StateOf(Status{}, ErrUnreachable); got != "unreachable" {
		t.Errorf("StateOf(unreachable) = %q", got)
	}
	if got := StateOf(Status{}, ErrNoStatus); got != "no_reply" {
		t.Errorf("StateOf(no status) = %q", got)
	}
}
