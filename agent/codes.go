package agent

import "github.com/posagent/posagent/agent/operr"

// The engine's errors are agent/operr's: a Kind, a stable Code (the
// constants in agent/operr/operr.go, one block) and a message. The engine
// and the parts beside it (agent/books, agent/gwauth, agent/route) return
// them alike.
type (
	// Kind is what kind of refusal or failure an engine error is.
	Kind = operr.Kind
	// Code is the stable, machine-readable name of one engine refusal.
	Code = operr.Code
	// OpError is a refusal or failure of an engine operation: find it
	// with errors.As.
	OpError = operr.Error
)

// Errorf makes the engine's error with the given code (and its kind).
func Errorf(code Code, format string, args ...any) *OpError {
	return operr.Errorf(code, format, args...)
}

// errf is Errorf, the short name the engine's refusals use.
func errf(code Code, format string, args ...any) *OpError { return operr.Errorf(code, format, args...) }
