//go:build linux || android

package api

import (
	"net"
	"net/http"
	"os"

	"golang.org/x/sys/unix"
)

// peerUID returns the uid of the process at the other end of a Unix
// socket connection (SO_PEERCRED), and whether the request came over one.
// A Unix connection whose peer cannot be read reports uid -1, which no
// allowlist holds.
func peerUID(r *http.Request) (int, bool) {
	uc, ok := r.Context().Value(connKey).(*net.UnixConn)
	if !ok {
		return 0, false
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return -1, true
	}
	uid := -1
	_ = raw.Control(func(fd uintptr) {
		if cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
			uid = int(cred.Uid)
		}
	})
	return uid, true
}

func selfUID() int { return os.Getuid() }
