// Package gwauth proves the gateway's credentials (sign key, merchant id)
// instead of assuming them.
//
// A bare FAIL carries no data, so nothing in it is
// authenticated: with a wrong sign key the gateway answers FAIL to every
// request, and a FAIL to STATUS_QUERY would read as "no such order". So:
//
//   - a "no such order" counts only when a probe that started after it
//     proved the channel sound: a STATUS_QUERY of a known paid order
//     answered with authenticated data and the right amount, or else an
//     EX_RATE_QUERY answered with authenticated data (soundAfter);
//   - a probe the gateway refuses (a refusal code, or data that does not
//     verify: another key, another merchant) marks the credentials
//     refused (gateway_auth): payments and refunds are held with
//     gateway_auth (unavailable) instead of being sent and declined, /v1/status,
//     /metrics and the alert PosagentGatewayAuth say so, and the probe
//     runs again every AuthRecheck until it passes (or a reload brings
//     new credentials);
//   - a probe with no answer says nothing (the gateway is unreachable,
//     which is another matter).
package gwauth
