package daemon

import (
	"os"
	"os/signal"
	"syscall"
)

// HangupReloads turns SIGHUP (systemctl reload posagent) into requests on
// the channel Options.Reload takes: signals that arrive while a reload is
// pending are one request, as that reload reads the newest file anyway.
// stop ends the delivery of SIGHUP and the goroutine that feeds reload.
func HangupReloads() (reload <-chan struct{}, stop func()) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	out := make(chan struct{}, 1)
	go func() {
		for range hup {
			select {
			case out <- struct{}{}:
			default: // one pending reload reads the newest file anyway
			}
		}
	}()
	return out, func() { signal.Stop(hup); close(hup) }
}
