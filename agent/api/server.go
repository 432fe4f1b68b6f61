package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/scanner"
	"github.com/posagent/posagent/store"
)

// Payments is what the payment routes need of the engine.
type Payments interface {
	CreatePayment(ctx context.Context, r agent.CreateRequest, ik agent.IdemKey) (*agent.Payment, bool, error)
	Payment(id string) (*agent.Payment, error)
	GiveCode(ctx context.Context, id, code string, ik agent.IdemKey) (*agent.Payment, error)
	Cancel(ctx context.Context, id string, ik agent.IdemKey) (*agent.Payment, error)
	// Refundable is what is left to refund of a payment now.
	Refundable(id string) (int64, error)
	RefundPayment(ctx context.Context, id string, amount *int64, ik agent.IdemKey, by agent.RefundBy) (*agent.Payment, error)
	// PINAttempt counts an attempt at an operator's PIN in the journal
	// before it is compared; PINAccepted forgets the count.
	PINAttempt(op string, max int, lockout time.Duration) (left time.Duration, last bool, err error)
	PINAccepted(op string) error
	Resolve(id string, r agent.ResolveRequest, ik agent.IdemKey) (*agent.Payment, error)
	// ResolveRefund settles an in-doubt refund by hand; RetryRefund makes
	// again a refund proven not made.
	ResolveRefund(id, rid string, r agent.ResolveRefundRequest, ik agent.IdemKey) (*agent.Payment, error)
	RetryRefund(ctx context.Context, id, rid string, ik agent.IdemKey) (*agent.Payment, error)
	Reprint(id string) (*agent.Payment, error)
	ReceiptFor(id string) (printer.Receipt, error)
	Sync() (int, error)
	List(q agent.ListQuery) (ps []*agent.Payment, nextAfter string, err error)
	EachExported(since time.Time, fn func(p *agent.Payment) error) error
	HandleScan(ctx context.Context, s scanner.Scan) error
}

// Counter is what the cart routes need: the amount due and its tip.
type Counter interface {
	CurrentCart() *agent.Cart
	SetCart(c agent.Cart) (*agent.Cart, error)
	ChooseTip(ch agent.TipChoice) (*agent.Cart, error)
	ClearCart() error
	Currency() string
}

// Books is what the shift, report and audit routes need.
type Books interface {
	CurrentShift() (*store.Shift, error)
	OpenShift(by string) (*store.Shift, error)
	CloseShift(by string, auto bool) (*agent.Report, error)
	XReport() (*agent.Report, error)
	ZReport(no uint64) (*agent.Report, []byte, error)
	ZList(limit int) ([]store.ZRecord, error)
	PrintReport(ctx context.Context, rep *agent.Report, reprint bool) error
	Printable(rep *agent.Report, reprint bool) printer.Report
	Reconcile(ctx context.Context, no uint64) (*agent.Reconciliation, error)
	LastReconciliation(no uint64) (*agent.Reconciliation, error)
	PrintableReconciliation(rc *agent.Reconciliation) printer.Report
	Location() *time.Location
	AuditTrail(since time.Time, limit int) ([]agent.AuditEntry, error)
	RecordAudit(a agent.Audit) error
}

// Watch is what the status, metrics and event routes need.
type Watch interface {
	Status() agent.Status
	Subscribe(after uint64) (<-chan agent.Event, func())
	LastSeq() uint64
	// Done is closed when the engine stops (event streams end).
	Done() <-chan struct{}
	Collector() prometheus.Collector
	Clock() agent.Clock
	Mono() time.Duration
}

// Engine is everything the API needs of the payment engine; *agent.Engine
// satisfies it.
type Engine interface {
	Payments
	Counter
	Books
	Watch
}

// Feed is what the status and metrics routes show of the journal's feed.
type Feed interface {
	FeedStatus() any
	Collector() prometheus.Collector
}

// Options configure the API.
type Options struct {
	// Token is the legacy single token (api.token): every role.
	Token string
	// Access is who may use the API: role tokens, allowed hosts and
	// origins, operators and refund approval (auth.go).
	Access Access
	// Mount adds routes behind the same front door ("/display/").
	Mount map[string]http.Handler
	// Bridge is the Android helper's WebSocket (GET /v1/bridge), for the
	// bridge role; nil: no such route.
	Bridge http.Handler
	// Callback serves OTTPay's call-backs (POST /v1/ottpay/callback,
	// CallbackHandler): no token, the same Host, size, type and time
	// limits, and refused call-backs limited per client; nil: none.
	Callback http.Handler
	// Reports draws and prints reports and the placard (nil: drawn for a
	// generic 80 mm printer; no placard).
	Reports agent.ReportPrinter
	// RenderReceipt draws a receipt as PNG (nil: receipt.png is 404).
	RenderReceipt func(printer.Receipt) ([]byte, error)
	// Feed, when set, is the journal's feed to the chain's NATS JetStream
	// (package feed): "feed" in /v1/status, its metrics in /metrics.
	Feed         Feed
	SSEPing      time.Duration // ": ping" on idle event streams (15 s)
	PrintTimeout time.Duration // one placard print (30 s)
	Logger       *slog.Logger  // nil: discard
}

// Server is the local HTTP API (docs/api.md) in front of one engine. It is
// an http.Handler; serve it with NewServer and Serve.
type Server struct {
	eng    Engine
	o      Options
	log    *slog.Logger
	access atomic.Pointer[accessState] // SetAccess
	h      http.Handler                // the front door
}

// New returns the API of eng.
func New(eng Engine, o Options) *Server {
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.SSEPing <= 0 {
		o.SSEPing = 15 * time.Second
	}
	if o.PrintTimeout <= 0 {
		o.PrintTimeout = 30 * time.Second
	}
	s := &Server{eng: eng, o: o, log: o.Logger}
	s.access.Store(newAccessState(o.Access, o.Token))
	s.h = s.handler()
	return s
}

// ServeHTTP serves the API through its front door.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.h.ServeHTTP(w, r) }

func (s *Server) now() time.Time        { return s.eng.Clock().Now().UTC() }
func (s *Server) mono() time.Duration   { return s.eng.Mono() }
func (s *Server) quit() <-chan struct{} { return s.eng.Done() }
