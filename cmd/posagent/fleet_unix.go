//go:build unix

package main

import (
	"fmt"
	"os"
	"syscall"
)

// reexec starts this program again in this process, with the same
// arguments and environment (the maintenance window's restart).
func reexec() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("fleet: restart: %w", err)
	}
	return syscall.Exec(exe, os.Args, os.Environ())
}
