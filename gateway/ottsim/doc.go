// Package ottsim simulates OTTPay's processV2 gateway, faithfully enough
// to run the agent against it: OTTPay has no sandbox for WeChat Pay or
// Alipay, so this is where payments are tested.
//
// It uses the same wire code as the client (envelope.Seal and envelope.Open):
// every request is decrypted and its digest verified, every answer is
// encrypted and signed with the merchant's sign key. It keeps a ledger of
// every order (what was charged, what was refunded, the order_status and
// the refunds), which is the ground truth for tests: Sim.Ledger, or
// GET /_sim/ledger.
//
// # Outcomes
//
// The outcome is chosen by the last two digits of the amount in cents:
//
//	cents  scan (PASSIVEPAY)                           qr (ACTIVEPAY)
//	01     FAIL, declined, nothing charged             FAIL, no QR
//	02     PROCESSING, paid PaidAfter later            QR; paid PaidAfter after the code_url is opened
//	03     PROCESSING, never paid, closed after        QR; opening it does nothing; closed after
//	       CloseAfter                                  CloseAfter
//	04     charged, connection dropped, no answer      order exists unpaid, connection dropped
//	05     SYSTEM_ERROR answer, but charged            order exists unpaid, SYSTEM_ERROR answer
//	06     charged, SUCCESS delayed by SlowReply       order exists unpaid, SUCCESS delayed by SlowReply
//	other  SUCCESS, paid at once                       QR; paid when the code_url is opened
//
// A qr order is paid by opening its code_url ({BaseURL}/_sim/pay/{order_id},
// a small HTML page), by POST to the same path (what `posagent sim pay`
// does), or by Sim.Pay. An unpaid qr order closes after QRTimeout.
// Duplicated order ids (payments or refunds) are answered ORDER_USED and
// change nothing.
//
// STATUS_QUERY answers order_status (notpay, success, orderclosed,
// failure, partial_refunded, fully_refunded) with amount, total_amount and
// refund_amount; queried by a refund's own order id it answers success and
// the refund's amount. An unknown order id is FAIL "not found".
//
// REFUND refunds part or all of a paid order, never more than is left
// (FAIL, nothing changes); a refund order id already used is ORDER_USED
// and nothing is refunded twice. Refund amounts do not select outcomes.
//
// EX_RATE_QUERY answers a fixed rate per fee_type (Options.Rates; CAD
// 5.15 and USD 7.12 by default, x 10^8 on the wire).
//
// # Refusals (our choice of codes; OTTPay's own choices are not public)
//
//	body is not JSON, envelope field missing, data not Base64 or
//	not whole AES blocks, business field missing               PARAM_ERROR
//	unknown merchant_id, version other than "1.0", unknown
//	action, bad value (amount not positive cents, order_id not
//	1-20 letters and digits, unknown biz_type, auth_code not
//	16-32 digits, unsupported fee_type)                        PARAM_INVALID
//	data that does not decrypt or whose digest does not match  FAIL ("signature verification failed")
//
// Refusals carry no data (the client must cope with that); business
// answers carry data.
//
// # Time
//
// Every delay (PaidAfter, CloseAfter, SlowReply, QRTimeout and the
// latency_ms and down_for_ms faults) is multiplied by TimeScale, so tests
// run real flows in compressed time. Order schedules (paid at, closed at)
// are read from Options.Clock, lazily, whenever an order is looked at: a
// test can drive them with a hand-moved clock. Sleeps (SlowReply, latency,
// downtime) are real timers and end early when the request or Run ends.
//
// # Faults
//
// Options.Faults, Sim.SetFaults and POST /_sim/faults
// {"latency_ms","error_rate","drop_rate","down_for_ms"} (GET shows them):
// latency before every answer; a share of requests answered SYSTEM_ERROR
// without acting; a share whose connection is closed without acting; and
// downtime, in which Run closes the listener (clients get connection
// refused, no request is read) and then listens again on the same address.
// Downtime needs Run: with only Handler there is no listener to close, and
// POST /_sim/faults answers 409.
//
// # Call-backs
//
// With Options.Callbacks, Run POSTs a call-back to a qr order's
// call_back_url when it becomes paid: the response envelope plus
// merchant_id, data {order_id, order_status, total_amount, trade_time}
// sealed like an answer (gateway.Client.ParseCallback verifies it). Any 2xx
// is an acknowledgement; otherwise it is retried twice, CallbackRetry apart.
// Order.Callback records the result. OTTPay's real acknowledgement format
// and retry policy are unknown, so this is off by default.
//
// # Running
//
// Handler serves everything (it can be mounted in an httptest.Server);
// code_url then uses the request's Host unless BaseURL is set. Run serves
// on a listener until its context ends, shuts down cleanly (in-flight
// slow answers are abandoned) and returns nil. The ledger lives in memory.
package ottsim
