package scanner

import (
	"bytes"
	"io"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseRecordingErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"00 zz", "line 1: encoding/hex"},
		{"# c\n+5 00", `line 2: gap "5"`},
		{"+-1ms 00", `gap "-1ms"`},
		{"+5ms", "line 1: a gap without a report"},
		{"0", "line 1: encoding/hex: odd length"},
	}
	for _, tt := range tests {
		_, err := ParseRecording(strings.NewReader(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseRecording(%q): %v, want %q", tt.in, err, tt.want)
		}
	}
	reps, err := ParseRecording(strings.NewReader("# c\n\n02 03\n+1s 0a0B\n"))
	want := []Report{{DefaultGap, []byte{2, 3}}, {time.Second, []byte{0x0a, 0x0b}}}
	if err != nil || !reflect.DeepEqual(reps, want) {
		t.Errorf("parse: %+v, %v", reps, err)
	}
}

// TestRecordRoundTrip: recording a device while it is read, then parsing
// the recording, gives back the same reports and gaps.
func TestRecordRoundTrip(t *testing.T) {
	reports := loadRecording(t, filepath.Join("testdata", "hid", "kbd-garbage.hex"))
	clock := &fakeClock{now: t0}
	src := &replay{reports: reports, clock: clock, done: make(chan struct{}), endErr: io.ErrUnexpectedEOF}
	var out bytes.Buffer
	rec := Record(src, &out, clock.Now)
	buf := make([]byte, 64)
	for {
		_, err := rec.Read(buf)
		if err != nil {
			break
		}
	}
	rec.Close()
	back, err := ParseRecording(&out)
	if err != nil {
		t.Fatal(err)
	}
	if len(back) != len(reports) {
		t.Fatalf("%d reports recorded, want %d", len(back), len(reports))
	}
	for i := range back {
		if !bytes.Equal(back[i].Data, reports[i].Data) || (i > 0 && back[i].Gap != reports[i].Gap) {
			t.Fatalf("report %d: %+v, want %+v", i, back[i], reports[i])
		}
	}
	if !src.closed {
		t.Error("Close not passed on")
	}
}
