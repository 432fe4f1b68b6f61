package operr

import (
	"fmt"
	"slices"
)

// Kind is what kind of refusal or failure an engine error is. The engine
// says what went wrong in these terms only; the local API (package
// agent/api) turns a Kind into an HTTP status with one table.
type Kind uint8

// The kinds of engine error.
const (
	KindInternal    Kind = iota // the agent itself failed (a damaged record); not the caller's doing
	KindInvalid                 // the request is malformed or out of range: fix it and send it again
	KindNotFound                // no such payment, refund, order, shift or report
	KindConflict                // another payment, scan or request holds what this one needs, or a key was reused
	KindWrongState              // well formed, but the payment (or the agent's setup) is not in a state that allows it
	KindUnavailable             // the engine cannot do it now (starting, the clock, the journal, the gateway's credentials, a printer)
	KindForbidden               // the caller may not do it without more authority (a manager's approval)
)

var kindNames = [...]string{
	KindInternal:    "internal",
	KindInvalid:     "invalid",
	KindNotFound:    "not_found",
	KindConflict:    "conflict",
	KindWrongState:  "wrong_state",
	KindUnavailable: "unavailable",
	KindForbidden:   "forbidden",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Refusal reports whether the kind is a refusal of the request as it was
// made (invalid, forbidden, not found, conflict, wrong state), not the
// engine failing or being unable to serve it now.
func (k Kind) Refusal() bool { return k != KindInternal && k != KindUnavailable }

// Code is the stable, machine-readable name of one engine refusal
// (error.code in the API's answers, docs/api.md). Every code the engine
// returns is one of the constants below; each has one Kind (codeKinds).
type Code string

// The engine's error codes, by kind.
const (
	// KindInvalid
	CodeAmountMismatch     Code = "amount_mismatch"
	CodeCurrencyMismatch   Code = "currency_mismatch"
	CodeInvalidAmount      Code = "invalid_amount"
	CodeInvalidCode        Code = "invalid_code"
	CodeInvalidField       Code = "invalid_field"
	CodeInvalidFind        Code = "invalid_find"
	CodeInvalidMode        Code = "invalid_mode"
	CodeInvalidOutcome     Code = "invalid_outcome"
	CodeInvalidReference   Code = "invalid_reference"
	CodeInvalidStateFilter Code = "invalid_state_filter"
	CodeInvalidTip         Code = "invalid_tip"
	CodeInvalidWallet      Code = "invalid_wallet"
	CodeNoTipChoices       Code = "no_tip_choices"
	CodeReasonRequired     Code = "reason_required"

	// KindForbidden
	CodeApprovalRequired    Code = "approval_required"
	CodeTipApprovalRequired Code = "tip_approval_required"
	CodeTipNotOffered       Code = "tip_not_offered"

	// KindNotFound
	CodeNotFound    Code = "not_found"
	CodeNoOpenShift Code = "no_open_shift"

	// KindConflict
	CodeAlreadyRetried        Code = "already_retried"
	CodeCartBusy              Code = "cart_busy"
	CodeCartChanged           Code = "cart_changed"
	CodeCodeAlreadyUsed       Code = "code_already_used"
	CodeIdempotencyConflict   Code = "idempotency_conflict"
	CodeIdempotencyKeyExpired Code = "idempotency_key_expired"
	CodeNoTipPrompt           Code = "no_tip_prompt"
	CodePaymentWaiting        Code = "payment_waiting"
	CodeScanAmbiguous         Code = "scan_ambiguous"
	CodeShiftOpen             Code = "shift_open"
	CodeTipAlreadyChosen      Code = "tip_already_chosen"

	// KindWrongState
	CodeAmountTooLarge  Code = "amount_too_large"
	CodeInvalidState    Code = "invalid_state"
	CodeNoPrinter       Code = "no_printer"
	CodeNothingToRefund Code = "nothing_to_refund"

	// KindUnavailable
	CodeClockImplausible Code = "clock_implausible"
	CodeGatewayAuth      Code = "gateway_auth"
	CodeJournalDamaged   Code = "journal_damaged"
	CodeJournalFailed    Code = "journal_failed"
	CodeNotRunning       Code = "not_running"
	CodePrinterError     Code = "printer_error"

	// KindInternal
	CodeInternal      Code = "internal"
	CodeReportCorrupt Code = "report_corrupt"
)

// codeKinds gives each code its kind. A test in agent/api checks that it
// holds every constant above, and that docs/api.md lists each code.
var codeKinds = map[Code]Kind{
	CodeAmountMismatch: KindInvalid, CodeCurrencyMismatch: KindInvalid, CodeInvalidAmount: KindInvalid,
	CodeInvalidCode: KindInvalid, CodeInvalidField: KindInvalid, CodeInvalidFind: KindInvalid,
	CodeInvalidMode: KindInvalid, CodeInvalidOutcome: KindInvalid, CodeInvalidReference: KindInvalid,
	CodeInvalidStateFilter: KindInvalid, CodeInvalidTip: KindInvalid, CodeInvalidWallet: KindInvalid,
	CodeNoTipChoices: KindInvalid, CodeReasonRequired: KindInvalid,

	CodeApprovalRequired: KindForbidden, CodeTipApprovalRequired: KindForbidden, CodeTipNotOffered: KindForbidden,

	CodeNotFound: KindNotFound, CodeNoOpenShift: KindNotFound,

	CodeAlreadyRetried: KindConflict, CodeCartBusy: KindConflict, CodeCartChanged: KindConflict,
	CodeCodeAlreadyUsed: KindConflict, CodeIdempotencyConflict: KindConflict, CodeIdempotencyKeyExpired: KindConflict, CodeNoTipPrompt: KindConflict,
	CodePaymentWaiting: KindConflict, CodeScanAmbiguous: KindConflict, CodeShiftOpen: KindConflict,
	CodeTipAlreadyChosen: KindConflict,

	CodeAmountTooLarge: KindWrongState, CodeInvalidState: KindWrongState, CodeNoPrinter: KindWrongState,
	CodeNothingToRefund: KindWrongState,

	CodeClockImplausible: KindUnavailable, CodeGatewayAuth: KindUnavailable, CodeJournalDamaged: KindUnavailable,
	CodeJournalFailed: KindUnavailable, CodeNotRunning: KindUnavailable, CodePrinterError: KindUnavailable,

	CodeInternal: KindInternal, CodeReportCorrupt: KindInternal,
}

// Kind is the kind of the code; KindInternal for a code that is not one
// of the engine's.
func (c Code) Kind() Kind { return codeKinds[c] }

// Codes lists every code the engine returns, sorted.
func Codes() []Code {
	out := make([]Code, 0, len(codeKinds))
	for c := range codeKinds {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Error is a refusal or failure of an engine operation: its kind, its
// stable code and a message for a person (agent.OpError). Find it with
// errors.As.
type Error struct {
	Kind    Kind
	Code    Code
	Message string
}

func (e *Error) Error() string { return "agent: " + e.Message }

// Errorf makes the engine's error with the given code (and the code's
// kind).
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Kind: code.Kind(), Code: code, Message: fmt.Sprintf(format, args...)}
}
