package ottsim

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Options configure a Sim. Zero values take the documented defaults.
type Options struct {
	MerchantID, SignKey string
	TimeScale           float64       // multiplies every delay below (default 1)
	PaidAfter           time.Duration // "02": paid ~5 s after PASSIVEPAY/STATUS
	CloseAfter          time.Duration // "03": closed after 45 s
	SlowReply           time.Duration // "06": reply delayed (default 30 s, past the client's timeout)
	QRTimeout           time.Duration // a qr order unpaid this long is closed (default 5 min)
	BaseURL             string        // used in code_url; set by Run from the listener when empty
	Clock               func() time.Time
	Logger              *slog.Logger
}

// Order is one order in the ledger.
type Order struct {
	OrderID   string    `json:"order_id"`
	Action    string    `json:"action"`
	Wallet    string    `json:"wallet"`
	Amount    int64     `json:"amount"`
	Charged   int64     `json:"charged"`
	Refunded  int64     `json:"refunded"`
	Status    string    `json:"status"`
	Refunds   []Refund  `json:"refunds"`
	CreatedAt time.Time `json:"created_at"`
}

// Refund is one refund of an order.
type Refund struct {
	OrderID string `json:"order_id"`
	Amount  int64  `json:"amount"`
}

// Faults are injected failures.
type Faults struct {
	LatencyMS int64   `json:"latency_ms"`
	ErrorRate float64 `json:"error_rate"`
	DropRate  float64 `json:"drop_rate"`
	DownForMS int64   `json:"down_for_ms"`
}

// Sim is the OTTPay simulator.
type Sim struct{ o Options }

func New(o Options) *Sim { return &Sim{o: o} }

func (s *Sim) Handler() http.Handler { return http.NotFoundHandler() }

func (s *Sim) Run(ctx context.Context, l net.Listener) error { return errors.New("ottsim: not built yet") }

func (s *Sim) Ledger() []Order { return nil }

func (s *Sim) SetFaults(f Faults) {}

func (s *Sim) Pay(orderID string) error { return errors.New("ottsim: not built yet") }
