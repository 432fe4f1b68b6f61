//go:build !linux

package store

// lowPriority: the thread's priority is left as it is on this system.
func lowPriority() {}
