package agent

import "github.com/posagent/posagent/store"

// State is a payment state (docs/payments.md). Final states never change.
type State = store.State

// Payment states, re-exported from the journal's record type.
const (
	AwaitingCode = store.AwaitingCode
	Processing   = store.Processing
	Queued       = store.Queued
	InDoubt      = store.InDoubt
	Succeeded    = store.Succeeded
	Failed       = store.Failed
	Cancelled    = store.Cancelled
	Expired      = store.Expired
	Reversed     = store.Reversed
)

// transitions lists, for each non-final state, the states it may move to.
// Final states have no entry: they never change.
//
//	awaiting_code -> processing (a code arrived), cancelled (the cashier stopped)
//	processing    -> succeeded, failed (a final answer),
//	                 queued (nothing reached the gateway; scan only),
//	                 in_doubt (window over or cancel, outcome unknown; or paid
//	                 after abandonment, an automatic refund under way),
//	                 cancelled (the gateway confirmed the order closed or failed
//	                 after a cancel; qr: closed)
//	queued        -> processing (retry, same order id), expired (validity
//	                 window over, nothing charged), cancelled (cashier, nothing sent)
//	in_doubt      -> reversed (paid late, refunded), cancelled / failed (the
//	                 gateway confirmed not paid), succeeded / failed /
//	                 cancelled (settled by hand)
//
// The one move out of a final state is not in this table (contradicts):
// a payment settled by hand as not paid that the gateway later reports
// paid goes back to in_doubt while its automatic refund is made.
var transitions = map[State][]State{
	AwaitingCode: {Processing, Cancelled},
	Processing:   {Succeeded, Failed, Queued, InDoubt, Cancelled},
	Queued:       {Processing, Expired, Cancelled},
	InDoubt:      {Reversed, Cancelled, Failed, Succeeded},
}

// CanTransition reports whether a payment may move from one state to
// another. Staying in the same state is allowed: it is a field update (a
// code_url, a flag, a refund added to a succeeded payment), never a change
// of state, so a final state still never changes.
func CanTransition(from, to State) bool {
	if from == to {
		return from != ""
	}
	if from.Final() {
		return false
	}
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// ReasonWaitingForCustomer is a processing scan payment's reason while
// the gateway says the customer must confirm it on the phone (a password,
// or WeChat's confirmation above a limit or after several payments a day):
// the display asks the customer to confirm, the cashier may cancel.
const ReasonWaitingForCustomer = "waiting_for_customer"

// MsgCancelledWaiting is the error message of a scan payment cancelled
// while the customer was asked to confirm it: what it means for the
// customer's money.
const MsgCancelledWaiting = "cancelled while the customer was asked to confirm on the phone: ask them not to confirm; " +
	"if they already did, or still do, the payment is refunded to them automatically (nothing else to do)"
