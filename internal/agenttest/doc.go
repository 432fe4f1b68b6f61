// Package agenttest holds what the stack tests of the engine
// (agent/stacktest), the API's tests and the client's tests share
// and what does not depend on the engine: the OTTPay simulator served over
// loopback HTTP, a gateway client for it, a test logger, payment codes, and
// an HTTP client for the local API that sends what a POS sends (a JSON
// content type, a bearer token, a fresh Idempotency-Key per POST).
//
// It imports neither agent nor agent/api, so the engine's own (internal)
// tests can use it as well as agent/api's. The typed client a POS imports
// is package client.
//
// It lives under the module's internal/: test support, importable only
// inside the module, no API.
package agenttest
