// Command posagent is the in-store payment agent: the daemon, its command
// line client, the OTTPay simulator and the technician's tools, in one binary.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if err := run(); err != nil {
		var ee exitError
		if errors.As(err, &ee) {
			if ee.msg != "" {
				fmt.Fprintln(os.Stderr, "posagent:", ee.msg)
			}
			os.Exit(ee.code)
		}
		fmt.Fprintln(os.Stderr, "posagent:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	return root.ExecuteContext(ctx)
}

// exitError ends the process with a specific exit code (for example `pay`,
// which exits non-zero when the payment did not succeed).
type exitError struct {
	code int
	msg  string
	err  error // the cause, when there is one (errors.Is sees through)
}

func (e exitError) Error() string { return fmt.Sprintf("exit %d: %s", e.code, e.msg) }

func (e exitError) Unwrap() error { return e.err }
