// Package gwmeter wraps the gateway client and measures it: the latency
// of every call, the calls that did not end Paid (by action and outcome),
// and whether the gateway answers at all. The histogram and the counter
// are kept as calls end; the Meter is the prometheus.Collector of them,
// and of reachability as it is now. An answer that refused the request or
// did not verify is told to the credentials' watch (agent/gwauth), which
// proves the credentials again.
package gwmeter
