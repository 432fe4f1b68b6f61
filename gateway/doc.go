// Package gateway is the client of OTTPay's processV2 API: the envelope
// (digest, key derivation, AES-128-ECB), the five actions the agent uses,
// and the one place that decides what an answer means for the money.
//
// # Naming
//
// OTTPay names the in-store modes from the merchant's side. The product's
// "scan" payment (the cashier scans the customer's payment code) is
// PASSIVEPAY on the wire, and the product's "qr" payment (the customer
// scans a QR the terminal shows) is ACTIVEPAY. The wire names stay in this
// package and its simulator (package ottsim).
//
// # The envelope
//
// A request is {"action","version":"1.0","merchant_id","terminal_no",
// "operator_id","data","md5"}; a response is {"rsp_code","rsp_msg","data",
// "md5"}. The business fields travel encrypted in data:
//
//  1. md5 = UPPER(hex(MD5(values concatenated in the byte order of their keys)))  — Digest
//  2. key = UPPER(hex(MD5(md5 + signKey)))[8:24], 16 ASCII bytes              — AESKey
//  3. data = Base64(AES-128-ECB(PKCS#7(compact JSON, every value a string)))  — Seal
//
// Open reverses it and recomputes the digest over the decrypted values.
// Fields is an ordered list, not a map, because the JSON keeps the
// caller's key order and the ciphertext depends on it: Seal reproduces
// the official Appendix A vector byte for byte (see the tests). Those
// functions are package gateway/internal/envelope, pure and shared with the
// simulator; they are not part of this package's API.
// Optional fields are left out, never sent as "".
//
// # Results and errors
//
// Every call returns (*Result, error) with one rule: err == nil means Paid,
// a verified answer that Classify read as paid (for ACTIVEPAY: the QR was
// issued; for REFUND: the refund is done; for EX_RATE_QUERY: the rate was
// given). Anything else is a *Error whose Outcome is
//
//   - Failed: final; nothing was charged (or refunded). Never resend.
//   - Unknown: the gateway may have acted. Resolve it with Query, never
//     by resending a payment, except when errors.Is(err, ErrNotSent).
//
// A *Result may come with a *Error (a verified PROCESSING answer, a FAIL
// with data): use it for the code, message and order_status. OutcomeOf
// reads any error.
//
// ErrNotSent means no request byte reached the gateway: the connection
// was refused, the name did not resolve, the TLS handshake failed, or the
// request was refused locally before any I/O (then Outcome is Failed).
// It is detected with net/http/httptrace: until WroteHeaders fires, the
// gateway cannot have seen the request. A timeout, a reset or an EOF
// after the request was written is plain Unknown.
//
// ErrUnverified means an answer arrived but is not believed: data that
// does not decrypt or whose digest does not match, an order_id, amount
// (total_amount, amount, refund_amt) or merchant_id that differs from
// the request, SUCCESS without data, a body that is not an envelope, or a
// failure code contradicted by authenticated data saying the order is
// paid. Its Outcome is Unknown.
//
// # Classify
//
// Classify(action, rsp_code, order_status) is the only mapping from codes
// to outcomes (its doc comment has the table): FAIL, PWD_INCORRECT,
// PARAM_INVALID, PARAM_ERROR and ORDER_TYPE_ERROR are Failed; SUCCESS is
// Paid, except that PASSIVEPAY and STATUS_QUERY also read order_status;
// PROCESSING, TIMEOUT, SYSTEM_ERROR, DB_ERROR, ORDER_PAID, ORDER_USED and
// every unrecognised code are Unknown. For STATUS_QUERY a failure code is
// Unknown: a failed query says nothing about the order.
//
// # Call-backs
//
// ParseCallback verifies a call-back body (digest, merchant id, order id)
// and returns its Result; a nil error means authentic, not paid: read
// Result.Outcome, compare Result.Amount with the order, and confirm with
// Query before acting.
//
// # Caveats
//
//   - rsp_code and rsp_msg are outside the digest: anyone on the path can
//     change them. Only data is authenticated. A failure code with no data,
//     or with data that cannot be decrypted, is still taken as Failed
//     (gateways answer refusals that way, and there is nothing better to
//     believe); a failure code over authenticated data that says the order
//     is paid is Unknown. This is why the agent reconciles in-doubt orders
//     with STATUS_QUERY and verifies every answer it acts on.
//   - Query with no amount cannot check amounts; it checks the order id.
//   - ACTIVEPAY needs call_back_url (OTTPay marks it required): set
//     Config.CallbackURL or QRRequest.CallbackURL. The agent never relies
//     on call-backs; polling is the source of truth.
//   - The sign key and the derived AES keys never appear in errors or
//     logs (tested by formatting every error the client produces); payment
//     codes are logged masked (paycode.Mask).
//   - The default HTTP client has a 20 s timeout and verifies TLS; there is
//     no option to skip verification.
package gateway
