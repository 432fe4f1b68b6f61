// Package stacktest holds the payment engine's whole-stack tests: the
// engine on a real bbolt journal, its local API (agent/api) on loopback
// HTTP or an in-memory transport inside testing/synctest bubbles, and the
// OTTPay simulator (gateway/ottsim) as the ledger of truth. The end-to-end
// flows, the crash tests (a child process SIGKILLed mid-flight), the
// money model test (TestModel) and the benchmarks of the running daemon
// live here; tests of the engine's own parts, which call it directly, stay
// in package agent.
//
// The package has no code of its own besides this file.
package stacktest
