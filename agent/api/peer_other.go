//go:build !linux && !android

package api

import (
	"net"
	"net/http"
)

// peerUID: without SO_PEERCRED no Unix socket caller is trusted (uid -1).
func peerUID(r *http.Request) (int, bool) {
	_, ok := r.Context().Value(connKey).(*net.UnixConn)
	return -1, ok
}

func selfUID() int { return -2 }
