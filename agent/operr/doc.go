// Package operr is how an engine operation refuses or fails: a Kind
// (invalid, not found, conflict, wrong state, unavailable, forbidden,
// internal), a stable Code (error.code in the local API's answers,
// docs/api.md) and a message for a person. Every code the engine and the
// parts beside it (agent/books, agent/gwauth, agent/route) return is one
// of the constants below; the local API (agent/api) turns a Kind into an
// HTTP status with one table. A leaf (standard library only), so that the
// engine (package agent, which aliases Kind, Code and Error) and those
// parts return the same error without importing each other.
package operr
