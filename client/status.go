package client

import (
	"encoding/json"
	"time"
)

// Status is GET /v1/status: the daemon, the gateway, the journal, the
// outbox, what is in doubt, the devices, the clock and how the API is
// reached.
type Status struct {
	Version        string           `json:"version"`
	StartedAt      time.Time        `json:"started_at"`
	UptimeSeconds  float64          `json:"uptime_seconds"`
	Devices        []Device         `json:"devices"`
	Gateway        GatewayStatus    `json:"gateway"`
	Outbox         OutboxStatus     `json:"outbox"`
	Journal        JournalStatus    `json:"journal"`
	OpenPayments   int              `json:"open_payments"`
	Cart           *Cart            `json:"cart"`
	InDoubt        []InDoubtPayment `json:"in_doubt"`
	RefundsInDoubt []InDoubtRefund  `json:"refunds_in_doubt"`
	// Contradicted counts the resolutions by hand the gateway later
	// contradicted, since start.
	Contradicted int         `json:"resolutions_contradicted"`
	Clock        ClockStatus `json:"clock"`
	StoreErrors  int         `json:"store_errors"`
	API          APIStatus   `json:"api"`
	// Feed is the journal's feed to the back office (nil: feed.enabled off).
	Feed *FeedStatus `json:"feed,omitempty"`
}

// GatewayStatus is whether OTTPay answers and accepts the credentials.
type GatewayStatus struct {
	Reachable   bool       `json:"reachable"`
	LastContact *time.Time `json:"last_contact,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	Auth        AuthStatus `json:"auth"`
}

// Gateway credential states (AuthStatus.State).
const (
	AuthUnknown = "unknown"
	AuthOK      = "ok"
	AuthRefused = "refused"
)

// AuthStatus is whether the gateway accepts this terminal's credentials.
type AuthStatus struct {
	State   string    `json:"state"`
	Reason  string    `json:"reason,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	Checked time.Time `json:"checked,omitzero"`
}

// OutboxStatus is the durable queue of gateway jobs.
type OutboxStatus struct {
	Depth            int            `json:"depth"`
	OldestAgeSeconds float64        `json:"oldest_age_seconds"`
	ByKind           map[string]int `json:"by_kind"`
	LastError        string         `json:"last_error,omitempty"`
}

// JournalStatus is the payment journal's file, backups and check.
type JournalStatus struct {
	Path      string       `json:"path"`
	SizeBytes int64        `json:"size_bytes"`
	LastSeq   uint64       `json:"last_event_seq"`
	Backup    BackupStatus `json:"backup"`
	Check     CheckStatus  `json:"check"`
}

// BackupStatus is the newest verified backup (AgeSeconds -1: none).
type BackupStatus struct {
	Dir        string    `json:"dir,omitempty"`
	Last       time.Time `json:"last_at,omitzero"`
	LastPath   string    `json:"last_path,omitempty"`
	LastError  string    `json:"last_error,omitempty"`
	AgeSeconds float64   `json:"age_seconds"`
}

// CheckStatus is how far the journal was checked: State verified,
// pending, checking or damaged.
type CheckStatus struct {
	State        string    `json:"state"`
	VerifiedTxID uint64    `json:"verified_txid"`
	VerifiedAt   time.Time `json:"verified_at"`
	Findings     []Finding `json:"findings,omitempty"`
	Error        string    `json:"error,omitempty"`
}

// Finding is one problem a check of the journal found.
type Finding struct {
	Page    *uint64 `json:"page,omitempty"`
	Bucket  string  `json:"bucket,omitempty"`
	Key     string  `json:"key,omitempty"`
	Problem string  `json:"problem"`
	Damage  bool    `json:"damage"`
}

// InDoubtPayment is a payment whose outcome the gateway has not told yet.
type InDoubtPayment struct {
	ID         string  `json:"id"`
	OrderID    string  `json:"order_id"`
	Amount     int64   `json:"amount"`
	AgeSeconds float64 `json:"age_seconds"`
	Reversal   bool    `json:"reversal,omitempty"`
	Stuck      bool    `json:"reversal_stuck,omitempty"`
}

// InDoubtRefund is a refund whose outcome is not known yet.
type InDoubtRefund struct {
	PaymentID  string  `json:"payment_id"`
	RefundID   string  `json:"refund_id"`
	Amount     int64   `json:"amount"`
	State      string  `json:"state"`
	AgeSeconds float64 `json:"age_seconds"`
	Ambiguous  string  `json:"ambiguous,omitempty"`
	Behind     string  `json:"behind,omitempty"`
}

// ClockStatus is whether the wall clock can be trusted.
type ClockStatus struct {
	Plausible bool   `json:"plausible"`
	Problem   string `json:"problem,omitempty"`
	Jumps     int    `json:"jumps"`
}

// APIStatus is how the API is reached.
type APIStatus struct {
	Open           bool     `json:"open"` // no tokens: loopback callers have every role
	Roles          []string `json:"roles"`
	TLSFingerprint string   `json:"tls_fingerprint,omitempty"`
	Socket         string   `json:"socket,omitempty"`
}

// FeedStatus is the journal's feed to the chain's NATS JetStream.
type FeedStatus struct {
	State      string    `json:"state"`
	Subject    string    `json:"subject"`
	Stream     string    `json:"stream"`
	Server     string    `json:"server,omitempty"`
	ID         string    `json:"id"`
	Epoch      int       `json:"epoch,omitempty"`
	Acked      uint64    `json:"acked_seq"`
	AckedAt    time.Time `json:"acked_at,omitzero"`
	LastSeq    uint64    `json:"last_seq"`
	LagEvents  uint64    `json:"lag_events"`
	LagSeconds float64   `json:"lag_seconds"`
	Published  uint64    `json:"published"`
	Duplicates uint64    `json:"duplicates"`
	Errors     uint64    `json:"errors"`
	LastError  string    `json:"last_error,omitempty"`
	LastErrAt  time.Time `json:"last_error_at,omitzero"`
}

// Shift is one shift of a lane.
type Shift struct {
	No                uint64    `json:"no"`
	Lane              string    `json:"lane"`
	OpenedAt          time.Time `json:"opened_at"`
	OpenedBy          string    `json:"opened_by,omitempty"`
	ClosedAt          time.Time `json:"closed_at,omitzero"`
	ClosedBy          string    `json:"closed_by,omitempty"`
	AutoOpened        bool      `json:"auto_opened,omitempty"`
	AutoClosed        bool      `json:"auto_closed,omitempty"`
	Z                 uint64    `json:"z,omitempty"`
	UnapprovedRefunds int64     `json:"unapproved_refunds,omitempty"`
}

// Report is an X report (the open shift so far) or a Z report (a closed
// shift): docs/reports.md.
type Report struct {
	Kind         string          `json:"kind"`
	Z            uint64          `json:"z,omitempty"`
	SHA256       string          `json:"sha256,omitempty"`
	Shift        Shift           `json:"shift"`
	Merchant     string          `json:"merchant"`
	Lane         string          `json:"lane"`
	Currency     string          `json:"currency"`
	TimeZone     string          `json:"time_zone"`
	GeneratedAt  time.Time       `json:"generated_at"`
	LastEventSeq uint64          `json:"last_event_seq"`
	Payments     Totals          `json:"payments"`
	ByState      []Line          `json:"by_state"`
	Sales        Totals          `json:"sales"`
	Tips         int64           `json:"tips"`
	Refunds      RefundTotals    `json:"refunds"`
	ShiftNet     int64           `json:"shift_net"`
	Late         Late            `json:"late"`
	Net          int64           `json:"net"`
	ByWallet     []Line          `json:"by_wallet"`
	ByMode       []Line          `json:"by_mode"`
	ByOperator   []Line          `json:"by_operator"`
	InDoubt      []InDoubtLine   `json:"in_doubt"`
	Unsettled    []UnsettledItem `json:"unsettled"`
}

// Totals is a count and an amount.
type Totals struct {
	Count  int   `json:"count"`
	Amount int64 `json:"amount"`
}

// Line is one group of a report.
type Line struct {
	Key      string `json:"key"`
	Count    int    `json:"count"`
	Amount   int64  `json:"amount"`
	Tips     int64  `json:"tips"`
	Refunds  int    `json:"refunds"`
	Refunded int64  `json:"refunded"`
	Net      int64  `json:"net"`
}

// RefundTotals are the refunds of a shift.
type RefundTotals struct {
	Count           int   `json:"count"`
	Amount          int64 `json:"amount"`
	Automatic       int   `json:"automatic"`
	AutomaticAmount int64 `json:"automatic_amount"`
	Pending         int   `json:"pending"`
	PendingAmount   int64 `json:"pending_amount"`
}

// InDoubtLine is a payment of the shift whose outcome is not known yet.
type InDoubtLine struct {
	ID         string    `json:"id"`
	OrderID    string    `json:"order_id"`
	State      string    `json:"state"`
	Amount     int64     `json:"amount"`
	Since      time.Time `json:"since"`
	AgeSeconds int64     `json:"age_seconds"`
}

// Late are the late settlements of earlier shifts' Z reports.
type Late struct {
	SinceZ  uint64     `json:"since_z"`
	Seeded  bool       `json:"seeded,omitempty"`
	Count   int        `json:"count"`
	Sales   Totals     `json:"sales"`
	Tips    int64      `json:"tips"`
	Refunds Totals     `json:"refunds"`
	Net     int64      `json:"net"`
	ByZ     []LateZ    `json:"by_z"`
	Items   []LateItem `json:"items"`
}

// LateZ sums the late settlements of one earlier Z report.
type LateZ struct {
	Z       uint64 `json:"z"`
	Shift   uint64 `json:"shift"`
	Count   int    `json:"count"`
	Sales   Totals `json:"sales"`
	Tips    int64  `json:"tips"`
	Refunds Totals `json:"refunds"`
	Net     int64  `json:"net"`
}

// LateItem is one late settlement.
type LateItem struct {
	Z         uint64 `json:"z"`
	Shift     uint64 `json:"shift"`
	Kind      string `json:"kind"`
	PaymentID string `json:"payment_id"`
	RefundID  string `json:"refund_id,omitempty"`
	OrderID   string `json:"order_id"`
	From      string `json:"from"`
	State     string `json:"state"`
	Sales     int64  `json:"sales"`
	Tips      int64  `json:"tips"`
	Refunded  int64  `json:"refunded"`
	Net       int64  `json:"net"`
}

// UnsettledItem is a payment or refund that may still settle or change.
type UnsettledItem struct {
	Z          uint64 `json:"z,omitempty"`
	Shift      uint64 `json:"shift"`
	Kind       string `json:"kind"`
	PaymentID  string `json:"payment_id"`
	RefundID   string `json:"refund_id,omitempty"`
	OrderID    string `json:"order_id"`
	State      string `json:"state"`
	Amount     int64  `json:"amount"`
	Counted    int64  `json:"counted"`
	CountedTip int64  `json:"counted_tip,omitempty"`
}

// ZRecord is a stored Z report: the report's JSON exactly as built, and
// its SHA-256 in hex.
type ZRecord struct {
	No     uint64          `json:"no"`
	Shift  uint64          `json:"shift"`
	At     time.Time       `json:"at"`
	SHA256 string          `json:"sha256"`
	Report json.RawMessage `json:"report"`
}

// Reconciliation compares a Z report's shift with the gateway.
type Reconciliation struct {
	Z          uint64     `json:"z"`
	Shift      uint64     `json:"shift"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt time.Time  `json:"finished_at"`
	Checked    int        `json:"checked"`
	Matched    int        `json:"matched"`
	Skipped    int        `json:"skipped"`
	Unanswered int        `json:"unanswered"`
	Mismatches []Mismatch `json:"mismatches"`
}

// Mismatch is one difference between the journal and the gateway.
type Mismatch struct {
	PaymentID string `json:"payment_id"`
	OrderID   string `json:"order_id"`
	Amount    int64  `json:"amount"`
	Kind      string `json:"kind"`
	Local     string `json:"local"`
	Gateway   string `json:"gateway"`
	Action    string `json:"action"`
	Refunded  int64  `json:"gateway_refunded,omitempty"`
}

// ReloadResult is POST /v1/config/reload: what a reload of the
// configuration file applied, what needs a restart, or why the file was
// refused (OK false; nothing changed).
type ReloadResult struct {
	OK       bool            `json:"ok"`
	File     string          `json:"file,omitempty"`
	Applied  []ConfigChange  `json:"applied"`
	Restart  []ConfigChange  `json:"restart"`
	Problems []ConfigProblem `json:"problems,omitempty"`
	Error    string          `json:"error,omitempty"`
	Warnings []string        `json:"warnings,omitempty"`
}

// ConfigChange is one key whose value changed.
type ConfigChange struct {
	Key string `json:"key"`
	Old string `json:"old"`
	New string `json:"new"`
}

// ConfigProblem is one problem of a configuration file.
type ConfigProblem struct {
	Key  string `json:"Key"`
	Line int    `json:"Line"` // 0: not about one line
	Msg  string `json:"Msg"`
}

func (p ConfigProblem) String() string {
	if p.Line > 0 {
		return "line " + itoa(p.Line) + ": " + p.Msg
	}
	return p.Msg
}
