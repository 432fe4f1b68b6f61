package store

import (
	"github.com/posagent/posagent/store/check"
	"github.com/posagent/posagent/store/record"
)

// The journal's records and its check, under the names the engine and the
// tools use: the types are those of package record (the format) and
// package check (the integrity tools); store adds no behaviour to them.

type (
	State        = record.State
	RefundState  = record.RefundState
	Error        = record.Error
	HistoryEntry = record.HistoryEntry
	Payment      = record.Payment
	Answer       = record.Answer
	Resolution   = record.Resolution
	Refund       = record.Refund
	Job          = record.Job
	Idem         = record.Idem
	Event        = record.Event
	WalletSide   = record.WalletSide

	// Report is what the check before use found (check.Report).
	Report = check.Report
	// Finding is one problem found in a journal file (check.Finding).
	Finding = check.Finding
	// CheckOptions configure the checks (check.Options).
	CheckOptions = check.Options
	// DamageError is returned for a damaged journal (check.DamageError).
	DamageError = check.DamageError
	// RollbackError is returned for a journal behind its high-water mark
	// (check.RollbackError).
	RollbackError = check.RollbackError
)

// Payment states. The final ones never change.
const (
	AwaitingCode = record.AwaitingCode
	Processing   = record.Processing
	Queued       = record.Queued
	InDoubt      = record.InDoubt
	Succeeded    = record.Succeeded
	Failed       = record.Failed
	Cancelled    = record.Cancelled
	Expired      = record.Expired
	Reversed     = record.Reversed
)

// Refund states.
const (
	RefundPending   = record.RefundPending
	RefundInDoubt   = record.RefundInDoubt
	RefundSucceeded = record.RefundSucceeded
	RefundFailed    = record.RefundFailed
)

// Job kinds of the outbox.
const (
	JobQuery   = record.JobQuery
	JobRefund  = record.JobRefund
	JobReceipt = record.JobReceipt
)

// SchemaVersion is the journal layout version written in the meta bucket.
const SchemaVersion = record.SchemaVersion

// KindAudit is the kind of an audit-trail event ("kind" in its JSON).
const KindAudit = record.KindAudit

// States lists every payment state, open ones first.
var States = record.States

// DefaultFullCheckBelow: a journal whose pages in use take less than this
// is checked in full before every start (Options.FullCheckBelow).
const DefaultFullCheckBelow = check.DefaultFullCheckBelow

// paymentRecord is a payment as stored (record.StoredPayment).
type paymentRecord = record.StoredPayment

func decodePayment(v []byte) (*paymentRecord, error) { return record.DecodePayment(v) }

func parseSealed(s string) (uint32, []byte, error) { return record.ParseSealed(s) }
