// Package operr is the error an engine operation refuses or fails with: the
// HTTP status and the stable code the local API answers with (docs/api.md),
// and a message. It is a leaf (standard library only) so that the engine
// (package agent, which aliases it as agent.OpError) and the parts beside
// it (agent/books) return the same error without importing each other.
package operr

import "fmt"

// Error is a refusal or failure of an engine operation.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return "agent: " + e.Message }

// New returns an Error with the message formatted as fmt.Sprintf does.
func New(status int, code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}
