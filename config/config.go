package config

import "time"

// Config is the agent's whole configuration as plain data. Load fills it
// (defaults, then the device profile, then the file, then the
// environment); Validate checks it. The `key` tags are the public key names
// of the YAML file (docs/configuration.md); a `secret` tag marks values
// that are never printed, logged or put in an error.
type Config struct {
	Device   Device    `key:"device"`
	Merchant Merchant  `key:"merchant"`
	Gateway  Gateway   `key:"gateway"`
	API      API       `key:"api"`
	Store    Store     `key:"store"`
	Scanners []Scanner `key:"scanners" live:"yes"`
	Printer  Printer   `key:"printer"`
	Receipt  Receipt   `key:"receipt"`
	Display  Display   `key:"display"`
	Render   Render    `key:"render"`
	Agent    Agent     `key:"agent"`
	Log      Log       `key:"log"`
	Sim      Sim       `key:"sim"`
	Bridge   Bridge    `key:"bridge"`
	// Operators are the cashiers and managers who use the POS.
	Operators []Operator `key:"operators" live:"yes"`
	Refunds   Refunds    `key:"refunds"`
	// Tips are the rules for tips.
	Tips Tips `key:"tips"`
	// Reports are shifts, X and Z reports and the reconciliation with the gateway.
	Reports Reports `key:"reports"`
	// Feed streams the journal's events to the chain's NATS JetStream (feed.go).
	Feed Feed `key:"feed"`
	// Fleet is configuration pushed from head office (fleet.go).
	Fleet Fleet `key:"fleet"`
}

// Device names the hardware the agent runs on or beside.
type Device struct {
	// Profile is one of Profiles(): it supplies the defaults a technician
	// would otherwise look up (paper, printer quirks, display, scanner ids).
	Profile string `key:"profile"`
	// Deployment is "beside" (a Linux box beside the POS, devices attached
	// to it) or "on-device" (the agent runs on the Android POS and reaches
	// the devices Android owns through the bridge).
	Deployment string `key:"deployment"`
}

// Merchant is what the receipts and the display show about the shop.
type Merchant struct {
	// ID and Store name the merchant (the chain) and the store in the
	// subjects of the feed (posagent.<id>.<store>.<lane>.<kind>); the lane
	// is gateway.terminal_no.
	ID       string   `key:"id"`
	Store    string   `key:"store"`
	Name     string   `key:"name" live:"yes"`
	Currency string   `key:"currency"`           // ISO 4217, e.g. CAD
	Address  []string `key:"address" live:"yes"` // header lines under the name
	Footer   []string `key:"footer" live:"yes"`  // lines at the bottom of each receipt
	// ReceiptQR is the content of the QR printed on receipts, with
	// {order_id} and {payment_id} replaced; "" prints none. The default,
	// the OTTPay order id, lets a cashier scan a receipt to find the sale.
	ReceiptQR string `key:"receipt_qr" live:"yes"`
	// Timezone is the shop's IANA time zone (America/Toronto): receipts,
	// reports and shift boundaries use it. "" is the system's.
	Timezone string `key:"timezone" live:"yes"`
	// StaticQR is the URL of the merchant's OTTPay static QR (from the
	// merchant portal), shown on the idle display (display.idle_qr) and
	// printed by posagent placard. "" none. Payments made with it do not
	// pass through the agent.
	StaticQR string `key:"static_qr" live:"yes"`
	// PaymentLinks are the merchant's OTTPay item payment links, printed
	// on the placard each with its QR. They do not pass through the agent either.
	PaymentLinks []PaymentLink `key:"payment_links" live:"yes"`
}

// PaymentLink is one merchant.payment_links item: a name and its URL.
type PaymentLink struct {
	Name string `key:"name"`
	URL  string `key:"url"`
}

// Gateway is the OTTPay account and endpoint. URL "sim" runs the
// simulator in-process.
type Gateway struct {
	URL        string        `key:"url"`
	MerchantID string        `key:"merchant_id"`
	SignKey    string        `key:"sign_key" secret:"true"`
	OperatorID string        `key:"operator_id"`
	TerminalNo string        `key:"terminal_no"`
	Timeout    time.Duration `key:"timeout"` // per HTTP request
	// FeeAllowanceBPS: the convenience fee (basis points of the amount due,
	// at least 1.00) believed from an answer that charges more than was due
	// without naming the fee; 0 believes only a named fee.
	FeeAllowanceBPS int `key:"fee_allowance_bps"`
	// CallbackURL is the public URL OTTPay POSTs qr call-backs to (sent as
	// call_back_url): an https address the shop forwards to the agent's
	// /v1/ottpay/callback. "" sends the local API's address, which a
	// gateway on the internet cannot reach; polling decides either way.
	CallbackURL string `key:"callback_url"`
	// TimeZone is the IANA zone of the wallet's trade_time in the
	// gateway's answers (yyyyMMddHHmmss with no zone): the agent turns it
	// into a time and shows it in the shop's zone. The simulator: UTC.
	TimeZone string `key:"time_zone"`
}

// API is the local HTTP API.
type API struct {
	Listen string `key:"listen"`
	Token  string `key:"token" secret:"true"` // required when Listen is not loopback
	// Tokens are the role credentials (docs/api.md "Security").
	Tokens APITokens `key:"tokens" live:"yes"`
	// AllowedHosts are names the Host header may carry besides loopback
	// names, IP addresses and the listen host (DNS rebinding guard).
	AllowedHosts []string `key:"allowed_hosts" live:"yes"`
	// AllowedOrigins are the web origins of a browser-based POS (CORS).
	AllowedOrigins []string `key:"allowed_origins" live:"yes"`
	// Socket is a Unix socket to listen on as well ("" none); mode 0660,
	// group SocketGroup; only SocketUsers (names or uids) may use it.
	Socket      string   `key:"socket"`
	SocketGroup string   `key:"socket_group"`
	SocketUsers []string `key:"socket_users" live:"yes"`
	TLS         APITLS   `key:"tls"`
	// DefaultOperator is recorded on payments and refunds whose request
	// names no operator ("" none).
	DefaultOperator string `key:"default_operator" live:"yes"`
}

// APITokens holds one secret per role of the local API; "" leaves the
// role without a credential.
type APITokens struct {
	POS     string `key:"pos" secret:"true"`
	Manager string `key:"manager" secret:"true"`
	Display string `key:"display" secret:"true"`
	Bridge  string `key:"bridge" secret:"true"`
	Metrics string `key:"metrics" secret:"true"`
}

// APITLS is TLS for the local API: Cert and Key files, or Cert "auto" (a
// self-signed certificate made on first start beside the journal). ""
// serves plain HTTP.
type APITLS struct {
	Cert string `key:"cert"`
	Key  string `key:"key"`
}

// Operator is a cashier or manager (operators[]).
type Operator struct {
	ID   string `key:"id"`
	Name string `key:"name"`
	Role string `key:"role"` // cashier | manager
	// PINHash is a bcrypt or argon2id hash of the PIN (posagent operator
	// add writes it); a manager needs one to approve refunds.
	PINHash string `key:"pin_hash" secret:"true"`
	// OTTPayID is the operator_id OTTPay knows this person by; "" sends
	// gateway.operator_id.
	OTTPayID string `key:"ottpay_id"`
}

// Refunds are the rules for refunds.
type Refunds struct {
	// ApprovalAbove: a refund of more than this many cents needs a
	// manager's PIN, counting what the payment was already refunded
	// without one; 0 every refund; -1 none (then the manager token
	// refunds alone, and a pos token only with a manager's PIN).
	ApprovalAbove int `key:"approval_above" live:"yes"`
	// UnapprovedPerShift: what the open shift may refund in all without a
	// manager's PIN, whoever asks; 0: no such limit.
	UnapprovedPerShift int `key:"unapproved_per_shift" live:"yes"`
}

// Tips are the rules for tips.
type Tips struct {
	// MaxPercent caps a tip at this percent of the amount; above it a
	// tip needs a manager's PIN in the request. 1-1000.
	MaxPercent int `key:"max_percent"`
}

// Store is the bbolt journal.
type Store struct {
	Path      string        `key:"path"`
	Retention time.Duration `key:"retention"` // final payments older than this may be pruned; 0 keeps all
	Backup    Backup        `key:"backup"`
}

// Backup is the journal's scheduled backups: a verified copy every Every,
// into Dir, the newest Keep kept. Dir "" disables them.
type Backup struct {
	Dir   string        `key:"dir"`
	Every time.Duration `key:"every"`
	Keep  int           `key:"keep"`
}

// Scanner is one barcode scanner.
type Scanner struct {
	Name string `key:"name"`
	// Kind is "serial" (USB-CDC or USB-serial tty), "hid" (USB HID, opened
	// by vid/pid/interface) or "bridge" (a scanner Android owns; the bridge
	// helper posts its scans to POST /v1/scans, and vid/pid tell the helper
	// which USB device to claim).
	Kind       string        `key:"kind"`
	Device     string        `key:"device"` // serial: /dev/ttyACM0
	Baud       int           `key:"baud"`
	Parity     string        `key:"parity"`    // none | odd | even
	StopBits   int           `key:"stop_bits"` // 1 | 2
	VID        int           `key:"vid"`       // hid: USB vendor id (0x0c2e)
	PID        int           `key:"pid"`       // hid: USB product id (changes with the interface mode)
	Interface  int           `key:"interface"` // hid: USB interface number; -1 = any
	Mode       string        `key:"mode"`      // hid: keyboard | hidpos
	Terminator string        `key:"terminator"`
	StripAIM   bool          `key:"strip_aim"`
	Dedup      time.Duration `key:"dedup_window"` // 0: agent.dedup
}

// Printer is the receipt printer.
type Printer struct {
	Kind    string `key:"kind" live:"printer-kind"` // none | serial | usb | network | file | bridge
	Address string `key:"address" live:"unbridged"` // network: host:port
	Device  string `key:"device" live:"unbridged"`  // serial, usb: /dev/usb/lp0, /dev/ttyUSB0
	Path    string `key:"path" live:"unbridged"`    // file: ESC/POS bytes appended here
	Baud    int    `key:"baud" live:"unbridged"`    // serial
	Paper   string `key:"paper" live:"unbridged"`   // 58mm | 80mm
	Dots    int    `key:"dots" live:"unbridged"`    // printable width in dots; 0: from paper (384 / 576)
	// NativeQR: the printer understands GS ( k; false prints QR codes as raster.
	NativeQR bool `key:"native_qr" live:"unbridged"`
	// Chinese: the printer has a GB18030 font (FS &) and prints Chinese
	// text itself. False (most printers sold outside China): what the code
	// page cannot print (a Chinese shop name, Chinese labels, 微信支付) is
	// drawn with render.font and sent as raster image lines.
	Chinese bool `key:"chinese" live:"unbridged"`
	// Image: print the whole receipt as one raster image (Clover, whose SDK
	// takes images, not ESC/POS).
	Image bool   `key:"image"`
	Cut   string `key:"cut" live:"unbridged"` // full | partial | none
	// FeedCut: the printer accepts the parameterised "feed and cut"
	// (GS V 65/66 n). Sunmi's does not: false feeds with ESC d, then GS V 0/1.
	FeedCut   bool     `key:"feed_cut" live:"unbridged"`
	Drawer    bool     `key:"drawer" live:"unbridged"` // kick the cash drawer after a paid receipt
	Copies    []string `key:"copies" live:"unbridged"` // customer, merchant
	AutoPrint bool     `key:"auto_print"`              // print when a payment succeeds
	// Status: ask the printer for its status (DLE EOT) before and after each
	// receipt. Turn off for a printer that never answers.
	Status bool `key:"status" live:"unbridged"`
}

// Receipt is what receipts say.
type Receipt struct {
	// Language of the labels: en, zh or en+zh (both, "TOTAL 合计"), on any
	// printer (see printer.chinese). Wallet names are printed in their own
	// scripts (微信支付) with printer.chinese, or on a zh / en+zh receipt.
	Language string `key:"language" live:"unbridged"`
}

// Render is how the agent draws pictures: receipt PNGs (previews, Clover,
// the virtual printer) and display frames.
type Render struct {
	// Font is the CJK font file Chinese is drawn with (.ttc, .ttf, .otf);
	// "" looks in the usual places (Noto Sans CJK from fonts-noto-cjk,
	// Android's /system/fonts/NotoSansCJK-Regular.ttc).
	Font string `key:"font"`
}

// Display is the customer display.
type Display struct {
	Kind string `key:"kind"` // web | pole | png | none
	// Language is the primary language: en, zh, or auto (Chinese first for
	// WeChat Pay and Alipay payments, else the shop's language: zh when
	// receipt.language is zh, else en).
	Language string        `key:"language" live:"same-display-kind"`
	Logo     string        `key:"logo" live:"same-display-kind"` // optional image file shown when idle
	Pole     Pole          `key:"pole" live:"same-display-kind"`
	PNG      PNG           `key:"png" live:"same-display-kind"`
	Hold     time.Duration `key:"hold"` // how long "paid"/"failed" stays before idle
	// RateMaxAge: an exchange rate to CNY older than this is not shown as
	// an estimate (display) or printed (receipt).
	RateMaxAge time.Duration `key:"rate_max_age"`
	// IdleQR: the idle screen shows merchant.static_qr ("scan to pay us").
	IdleQR bool `key:"idle_qr" live:"same-display-kind"`
	// TipChoices are the tip suggestions (percent) a cart with tip_prompt
	// shows on the display's touch screen, beside "no tip".
	TipChoices []int `key:"tip_choices" live:"yes"`
}

// Pole is a 2x20 serial pole display.
type Pole struct {
	Device  string `key:"device"`
	Baud    int    `key:"baud"`
	Dialect string `key:"dialect"` // epson | cd5220
	// Chinese: the display has a GB2312 font (CD5220-compatible Chinese
	// models); screens whose language is Chinese are then shown in Chinese.
	Chinese bool `key:"chinese"`
}

// PNG is a display drawn into a PNG file (headless tests, small LCDs).
type PNG struct {
	Path   string `key:"path"`
	Width  int    `key:"width"`
	Height int    `key:"height"`
}

// Agent holds the payment flow timings and logging.
type Agent struct {
	// TimeScale multiplies every duration of the flows (tests use 0.01-0.05).
	TimeScale     float64       `key:"time_scale"`
	ScanWindow    time.Duration `key:"scan_window"`   // how long a scan payment is followed before in_doubt
	QRWindow      time.Duration `key:"qr_window"`     // how long a QR is shown and polled
	PollInterval  time.Duration `key:"poll_interval"` // STATUS_QUERY interval while following
	Dedup         time.Duration `key:"dedup"`         // same code twice within this is one scan
	ScanAutoStart bool          `key:"scan_auto_start"`
	// AwaitCodeTimeout: a scan payment waiting this long for its code is cancelled (no_code).
	AwaitCodeTimeout time.Duration `key:"await_code_timeout"`
	// CartTimeout: an amount due set by the POS expires after this.
	CartTimeout time.Duration `key:"cart_timeout"`
	// DuplicateWindow: a payment for the same amount as one that failed or
	// is in doubt within this long carries a possible_duplicate warning (0: off).
	DuplicateWindow time.Duration `key:"duplicate_window"`
	// IdempotencyWindow: how long an Idempotency-Key and its answer are
	// kept (0: as long as the payment).
	IdempotencyWindow time.Duration `key:"idempotency_window"`
	// ShutdownGrace: gateway calls in flight at a stop get this long to answer.
	ShutdownGrace time.Duration `key:"shutdown_grace"`
	// OutboxWorkers bounds the follow-ups (queries, refunds, receipts) run at once.
	OutboxWorkers int `key:"outbox_workers"`
	// LogLevel and LogFormat are the old names of log.level and log.format:
	// still read (with a warning), and after Load always equal to them.
	LogLevel  string `key:"log_level"`
	LogFormat string `key:"log_format"`
}

// Log is how the agent logs (to stderr; under systemd, to journald with a
// priority per level).
type Log struct {
	Level  string `key:"level" live:"yes"` // debug | info | warn | error; changes apply on reload
	Format string `key:"format"`           // text | json (fields in docs/configuration.md)
}

// Sim configures the in-process simulator (gateway.url: sim).
type Sim struct {
	TimeScale float64 `key:"time_scale"`
	// Listen is where the in-process simulator serves (its code_url pages
	// and /_sim/ledger); the default 127.0.0.1:0 picks a free port.
	Listen string `key:"listen"`
}

// Bridge is the Android bridge (deployment on-device).
type Bridge struct {
	Enabled bool   `key:"enabled"`
	Token   string `key:"token" live:"yes" secret:"true"`
}
