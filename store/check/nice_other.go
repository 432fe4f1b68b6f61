//go:build !linux

package check

// lowPriority: the thread's priority is left as it is on this system.
func lowPriority() {}
