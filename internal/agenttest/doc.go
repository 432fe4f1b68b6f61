// Package agenttest holds what the stack tests of the engine
// (agent/stacktest), the API's tests and the client's tests share
// and what does not depend on the engine: the OTTPay simulator served over
// loopback HTTP, a gateway client for it, a test logger, payment codes, and
// the two ways to call the local API:
//
//   - POS: the typed client a POS integrator imports (package client),
//     dialled at the test server; the tests that act as a POS use it.
//   - Raw: plain HTTP for what no POS sends and the typed client cannot:
//     malformed JSON, hostile or missing headers, wrong content types, the
//     front door's checks. By default it sends what a POS sends (a JSON
//     content type, a bearer token, a fresh Idempotency-Key per POST).
//
// It imports neither agent nor agent/api, so the engine's own (internal)
// tests can use it as well as agent/api's.
//
// It lives under the module's internal/: test support, importable only
// inside the module, no API.
package agenttest
