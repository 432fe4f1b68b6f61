package agent

import (
	"encoding/json"
	"time"

	"github.com/posagent/posagent/agent/route"
	"github.com/posagent/posagent/agent/view"
	"github.com/posagent/posagent/devices"
	"github.com/posagent/posagent/store"
)

// Payment is the public JSON of a payment (docs/api.md): agent/view's,
// which its lists and exports give too; HistoryEntry is one state it went
// through, Refund the public JSON of one of its refunds.
type (
	Payment      = view.Payment
	HistoryEntry = view.HistoryEntry
	Refund       = view.Refund
)

// publicPayment is the public JSON of a journal record (view.PaymentOf).
func publicPayment(p *store.Payment) *Payment { return view.PaymentOf(p) }

// Event kinds.
const (
	KindPaymentUpdated = "payment.updated"
	KindScanBarcode    = route.KindScanBarcode
	KindScanIgnored    = route.KindScanIgnored
	KindDeviceChanged  = "device.changed"
	KindCartUpdated    = route.KindCartUpdated
	// KindScanRefused: a payment code that was not charged because it
	// could not be routed safely (already used, two payments could take it).
	KindScanRefused = route.KindScanRefused
	// KindClockJumped: the wall clock moved against the monotonic clock.
	KindClockJumped = "clock.jumped"
	// KindPaymentResolved: a manager settled an in-doubt payment by hand.
	KindPaymentResolved = "payment.resolved"
	// KindGatewayAuth: the gateway began or stopped refusing this
	// terminal's credentials (Reason says why, or "ok").
	KindGatewayAuth = "gateway.auth"
	// KindResolutionContradicted: the gateway said otherwise than a
	// manager's decision on an in-doubt payment (payment.resolved).
	KindResolutionContradicted = "payment.resolution_contradicted"
)

// Event is one journal event, as streamed on /v1/events.
type Event struct {
	Seq     uint64        `json:"seq"`
	Kind    string        `json:"kind"`
	At      time.Time     `json:"at"`
	Payment *Payment      `json:"payment,omitempty"`
	Scan    *ScanInfo     `json:"scan,omitempty"`
	Reason  string        `json:"reason,omitempty"`
	Device  *DeviceStatus `json:"device,omitempty"`
	Cart    *Cart         `json:"cart,omitempty"`
	// Error is why a scan was refused (scan.refused).
	Error *store.Error `json:"error,omitempty"`
	// Audit is an audit-trail entry (api.audit).
	Audit *Audit `json:"audit,omitempty"`
	// Rate is the exchange rate to CNY (rate.updated).
	Rate *ExRate `json:"rate,omitempty"`
	// Data is the event's JSON exactly as journaled.
	Data json.RawMessage `json:"-"`
}

// DeviceStatus is one device in the registry (/v1/status, device.changed).
type DeviceStatus = devices.Status

// Cart is the amount due set by the POS (PUT /v1/cart); see route.Cart.
type Cart = route.Cart
