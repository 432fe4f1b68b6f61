//go:build !unix

package main

import "github.com/posagent/posagent/daemon"

// reexec cannot replace the process here: the service manager starts it again.
func reexec() error { return daemon.ErrFleetRestart }
