package client

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// Error is an answer of the API that is not a success: its HTTP status and
// the API's {"error": {"code", "message"}} (docs/api.md, "Errors"). Find
// it with errors.As:
//
//	var ae *client.Error
//	if errors.As(err, &ae) && ae.Code == "payment_waiting" { ... }
type Error struct {
	StatusCode int    // the HTTP status: 409
	Code       string // the API's code: "code_already_used"; "" when the answer had none
	Message    string // the API's message, for a person
	Method     string // the request: POST
	Path       string // /v1/payments
	// IdempotencyKey is the key the request was sent with ("" none): the
	// API has no request ids of its own; a money-moving request is known
	// by its key, in the daemon's journal and audit trail, and sending it
	// again with the same key is safe.
	IdempotencyKey string
	// RetryAfter is the Retry-After of a 429 or 503 (0 none).
	RetryAfter time.Duration
	// Payment is the payment an error answer carried: a qr payment whose
	// request could not reach the gateway (503 gateway_unreachable).
	Payment *Payment
	// Body is the answer as it came (at most 64 KiB): the result of a
	// refused reload (422) is in it.
	Body []byte
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("%s %s: HTTP %d", e.Method, e.Path, e.StatusCode)
	}
	return fmt.Sprintf("%s (%s, HTTP %d)", e.Message, e.Code, e.StatusCode)
}

// IsCode reports whether err is an *Error with that code.
func IsCode(err error, code string) bool {
	var ae *Error
	return errors.As(err, &ae) && ae.Code == code
}

// readError reads an error answer.
func readError(resp *http.Response, cl call) error {
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{StatusCode: resp.StatusCode, Method: cl.method, Path: cl.path, IdempotencyKey: cl.key, Body: data}
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
		Payment *Payment `json:"payment"`
	}
	if json.Unmarshal(data, &env) == nil {
		e.Code, e.Message, e.Payment = env.Error.Code, env.Error.Message, env.Payment
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			e.RetryAfter = time.Duration(n) * time.Second
		}
	}
	return e
}
