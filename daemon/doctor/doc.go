// Package doctor is posagent doctor's checks: the configuration (every
// problem), the journal (writable, not held, sound), the backups, each
// configured scanner, the printer, the display, the CJK font, the API's
// transport, the gateway (a TCP connection and an EX_RATE_QUERY), the
// clock against the gateway's, and the feed's connection and permissions.
// Run writes one line per check ("ok", "warn" or "FAIL" with the fix) and
// returns the number that failed. Nothing is stored or changed, except a
// test receipt with Options.PrintTest.
package doctor
