package printer

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStartSim: flags that exclude each other or a paper that does not
// exist are refused; a paper-out printer listens, says so and answers
// DLE EOT 4 with paper out.
func TestStartSim(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "receipts")
	for _, tc := range []struct {
		c    SimConfig
		want string
	}{
		{SimConfig{Listen: "127.0.0.1:0", Dir: dir, Paper: "80mm", PaperOut: true, Mute: true}, "--paper-out and --mute exclude each other"},
		{SimConfig{Listen: "127.0.0.1:0", Dir: dir, Paper: "70mm"}, "--paper"},
	} {
		if _, err := StartSim(tc.c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: err %v, want %q", tc.c, err, tc.want)
		}
	}
	s, err := StartSim(SimConfig{Listen: "127.0.0.1:0", Dir: dir, Paper: "58mm", PaperOut: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.State() != "paper out" || s.Profile.Dots != 384 {
		t.Errorf("state %q, %d dots", s.State(), s.Profile.Dots)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the receipts' directory was not made: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	c, err := net.DialTimeout("tcp", s.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte{0x10, 0x04, 4})
	b := make([]byte, 1)
	if _, err := c.Read(b); err != nil || b[0] != 0x12|0x60 {
		t.Errorf("DLE EOT 4: %#x %v, want paper out %#x", b[0], err, 0x12|0x60)
	}
	c.Close()
	cancel()
	if err := <-done; err != nil && err != context.Canceled {
		t.Errorf("run: %v", err)
	}
}
