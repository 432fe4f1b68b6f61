package api

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/operr"
)

// The API's own error codes: refusals by the front door (door.go), of a
// request's form (request.go) and of what only the API does (streams,
// rendering, a manager's PIN). The engine's codes are the operr.Code
// constants in agent/operr/operr.go. docs/api.md lists both (codes_test.go).
const (
	CodeBadCallback           agent.Code = "bad_callback"
	CodeBadRequest            agent.Code = "bad_request"
	CodeDuplicateField        agent.Code = "duplicate_field"
	CodeIdempotencyKeyMissing agent.Code = "idempotency_key_required"
	CodeInvalidCursor         agent.Code = "invalid_cursor"
	CodeInvalidFormat         agent.Code = "invalid_format"
	CodeInvalidIdempotencyKey agent.Code = "invalid_idempotency_key"
	CodeInvalidJSON           agent.Code = "invalid_json"
	CodeInvalidLimit          agent.Code = "invalid_limit"
	CodeInvalidPaper          agent.Code = "invalid_paper"
	CodeInvalidSince          agent.Code = "invalid_since"
	CodeUnknownField          agent.Code = "unknown_field"
	CodeUnknownOperator       agent.Code = "unknown_operator"
	CodeUnauthorized          agent.Code = "unauthorized"
	CodeApprovalDenied        agent.Code = "approval_denied"
	CodeForbidden             agent.Code = "forbidden"
	CodeOperatorNotAllowed    agent.Code = "operator_not_allowed"
	CodeOriginNotAllowed      agent.Code = "origin_not_allowed"
	CodeUIDNotAllowed         agent.Code = "uid_not_allowed"
	CodeNoRenderer            agent.Code = "no_renderer"
	CodeMethodNotAllowed      agent.Code = "method_not_allowed"
	CodeBodyTimeout           agent.Code = "body_timeout"
	CodeRequestTimeout        agent.Code = "request_timeout"
	CodeBodyTooLarge          agent.Code = "body_too_large"
	CodeUnsupportedMediaType  agent.Code = "unsupported_media_type"
	CodeHostNotAllowed        agent.Code = "host_not_allowed"
	CodeNoStaticQR            agent.Code = "no_static_qr"
	CodeApprovalLocked        agent.Code = "approval_locked"
	CodeTooManyAttempts       agent.Code = "too_many_attempts"
	CodeTooManyStreams        agent.Code = "too_many_streams"
)

// ownStatus is the status of each of the API's own codes.
var ownStatus = map[agent.Code]int{
	CodeBadCallback: http.StatusBadRequest, CodeBadRequest: http.StatusBadRequest,
	CodeDuplicateField: http.StatusBadRequest, CodeIdempotencyKeyMissing: http.StatusBadRequest,
	CodeInvalidCursor: http.StatusBadRequest, CodeInvalidFormat: http.StatusBadRequest,
	CodeInvalidIdempotencyKey: http.StatusBadRequest, CodeInvalidJSON: http.StatusBadRequest,
	CodeInvalidLimit: http.StatusBadRequest, CodeInvalidPaper: http.StatusBadRequest,
	CodeInvalidSince: http.StatusBadRequest, CodeUnknownField: http.StatusBadRequest,
	CodeUnknownOperator: http.StatusBadRequest,

	CodeUnauthorized: http.StatusUnauthorized,

	CodeApprovalDenied: http.StatusForbidden, CodeForbidden: http.StatusForbidden,
	CodeOperatorNotAllowed: http.StatusForbidden, CodeOriginNotAllowed: http.StatusForbidden,
	CodeUIDNotAllowed: http.StatusForbidden,

	CodeNoRenderer:       http.StatusNotFound,
	CodeMethodNotAllowed: http.StatusMethodNotAllowed,
	CodeBodyTimeout:      http.StatusRequestTimeout, CodeRequestTimeout: http.StatusRequestTimeout,
	CodeBodyTooLarge:         http.StatusRequestEntityTooLarge,
	CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	CodeHostNotAllowed:       http.StatusMisdirectedRequest,
	CodeNoStaticQR:           http.StatusUnprocessableEntity,
	CodeApprovalLocked:       http.StatusTooManyRequests, CodeTooManyAttempts: http.StatusTooManyRequests,
	CodeTooManyStreams: http.StatusServiceUnavailable,
}

// kindStatus is the one table from the kind of an engine error to the
// status the API answers it with.
func kindStatus(k agent.Kind) int {
	switch k {
	case operr.KindInvalid:
		return http.StatusBadRequest
	case operr.KindForbidden:
		return http.StatusForbidden
	case operr.KindNotFound:
		return http.StatusNotFound
	case operr.KindConflict:
		return http.StatusConflict
	case operr.KindWrongState:
		return http.StatusUnprocessableEntity
	case operr.KindUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// refusal is a refusal of the API's own, one of the codes above.
type refusal struct {
	code agent.Code
	msg  string
}

func (r *refusal) Error() string { return "api: " + r.msg }

// errf makes a refusal with code: the API's own code, or one of the
// engine's (then it is the engine's error, with the code's kind).
func errf(code agent.Code, format string, args ...any) error {
	if _, ok := ownStatus[code]; ok {
		return &refusal{code: code, msg: fmt.Sprintf(format, args...)}
	}
	return agent.Errorf(code, format, args...)
}

// answer is the status, code and message an error is answered with: an
// engine error's status by its kind, a refusal's by its code, anything
// else 500 internal.
func answer(err error) (status int, code agent.Code, msg string) {
	var oe *agent.OpError
	var rf *refusal
	switch {
	case errors.As(err, &rf):
		return ownStatus[rf.code], rf.code, rf.msg
	case errors.As(err, &oe):
		return kindStatus(oe.Kind), oe.Code, oe.Message
	default:
		return http.StatusInternalServerError, operr.CodeInternal, err.Error()
	}
}

// codeOf is the code an error is answered with.
func codeOf(err error) agent.Code {
	_, code, _ := answer(err)
	return code
}
