// Package envelope is OTTPay's processV2 message format: the ordered
// business fields, their MD5 digest, the AES key derived from it and the
// merchant's sign key, AES-128-ECB with PKCS#7, and the plain outer
// envelopes of a request and a response (docs/ottpay.md).
//
// It is internal to the gateway: the client (package gateway) and the
// simulator (gateway/ottsim) seal and open messages with it; nothing else
// has a reason to. Every function is pure and tested against the official
// test vector.
package envelope
