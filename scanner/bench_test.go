package scanner

import (
	"context"
	"io"
	"path/filepath"
	"testing"

	"github.com/creack/pty"

	"github.com/posagent/posagent/drivers/serial"
)

func BenchmarkKeyboardDecoder(b *testing.B) {
	reports := loadRecording(b, filepath.Join("testdata", "hid", "kbd-payment.hex"))
	d := NewKeyboardDecoder(KeyboardOptions{})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, r := range reports {
			d.Feed(r.Data, t0)
		}
	}
	b.ReportMetric(float64(len(reports)), "reports/code")
}

func BenchmarkHIDPOSDecoder(b *testing.B) {
	reports := loadRecording(b, filepath.Join("testdata", "hid", "pos-honeywell.hex"))
	d := NewHIDPOSDecoder(HIDPOSOptions{})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, r := range reports {
			d.Feed(r.Data, t0)
		}
	}
}

func BenchmarkLineFramer(b *testing.B) {
	chunk := []byte("134567890123456789\r\n")
	f := NewLineFramer(LineOptions{})
	b.SetBytes(int64(len(chunk)))
	for i := 0; i < b.N; i++ {
		f.Feed(chunk, t0)
	}
}

// BenchmarkSerialSourceLatency: from a code written on a real pty master to
// the Scan delivered by SerialSource (ns/op is one code's latency).
func BenchmarkSerialSourceLatency(b *testing.B) {
	m, s, err := pty.Open()
	if err != nil {
		b.Skip(err)
	}
	defer m.Close()
	dev := s.Name()
	s.Close()
	scans := make(chan Scan, 1)
	states := make(chan Status, 10)
	src := SerialSource{Name: "bench", Port: serial.Config{Device: dev}, OnState: func(s Status) { states <- s },
		Open: func(c serial.Config) (io.ReadCloser, error) { return serial.Open(c) }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { src.Run(ctx, func(s Scan) { scans <- s }); close(done) }()
	if st := <-states; st.State != StateConnected {
		b.Fatalf("state %+v", st)
	}
	code := []byte("134567890123456789\r")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Write(code); err != nil {
			b.Fatal(err)
		}
		<-scans
	}
	b.StopTimer()
	cancel()
	<-done
}
