package daemon

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// TestHangupReloads: a SIGHUP to the process is one reload request.
func TestHangupReloads(t *testing.T) {
	reload, stop := HangupReloads()
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reload:
	case <-time.After(30 * time.Second):
		t.Fatal("no reload request after SIGHUP")
	}
	select {
	case <-reload:
		t.Fatal("a second request for one SIGHUP")
	case <-time.After(50 * time.Millisecond):
	}
	stop()
}
