//go:build linux

package check

import (
	"runtime"
	"syscall"
)

// lowPriority runs the calling goroutine on an OS thread of its own at the
// lowest CPU priority (nice 19). The goroutine must end without unlocking:
// the thread then ends with it, and no other goroutine runs on it.
func lowPriority() {
	runtime.LockOSThread()
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 19)
}
