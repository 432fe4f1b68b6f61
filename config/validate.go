package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/posagent/posagent/config/profile"
	"golang.org/x/text/currency"
)

// ExampleSignKey is the public sign key of the contract's example merchant
// (and the simulator's default). It must never be used with a real gateway.
const ExampleSignKey = "6698851A525C9433"

var (
	merchantIDRe = regexp.MustCompile(`^[A-Z]{2}[0-9]{8}$`)
	operatorIDRe = regexp.MustCompile(`^[0-9]{10}$`)
	terminalRe   = regexp.MustCompile(`^[A-Za-z0-9_-]{1,32}$`)
)

// Validate checks every value and reports every problem at once in an
// *Error, each naming the key, the bad value (never a secret's) and the
// fix. It does no I/O: whether a device exists or a port answers is for
// `posagent doctor`.
func (c *Config) Validate() error {
	v := &validator{}
	c.validate(v)
	if len(v.problems) == 0 {
		return nil
	}
	return &Error{Op: "validate", Problems: v.problems}
}

// Problems returns what Validate would report, as a list.
func (c *Config) Problems() []Problem {
	v := &validator{}
	c.validate(v)
	return v.problems
}

type validator struct{ problems []Problem }

func (v *validator) add(key, format string, args ...any) {
	v.problems = append(v.problems, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// oneOf checks that val is one of allowed.
func (v *validator) oneOf(key, val string, allowed ...string) bool {
	if slices.Contains(allowed, val) {
		return true
	}
	if val == "" {
		v.add(key, "%s is missing: use %s", key, orList(allowed))
		return false
	}
	if hint := closest(val, allowed); hint != "" {
		v.add(key, "%s %s: use %s (did you mean %s?)", key, val, orList(allowed), hint)
	} else {
		v.add(key, "%s %s: use %s", key, val, orList(allowed))
	}
	return false
}

func (v *validator) positive(key string, d time.Duration) {
	if d <= 0 {
		v.add(key, "%s %s must be more than zero: use a duration like 30s", key, fmtDuration(d))
	}
}

func orList(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// IsLoopback reports whether a listen address (host:port) only accepts
// connections from this machine.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validate runs one validator per section, in the order of the example
// file. Each adds every problem it finds and none stops the others, so all
// problems are reported at once.
func (c *Config) validate(v *validator) {
	for _, section := range []func(*validator){
		c.validateDevice,
		c.validateMerchant,
		c.validateReports, // merchant.timezone, reports.* (reports.go)
		c.validateGateway,
		c.validateAPI,
		c.validateAccess,    // api.tokens, api.allowed_*, api.socket*, api.tls (access.go)
		c.validateOperators, // operators, api.default_operator, refunds (access.go)
		c.validateStore,
		c.validateScanners,
		c.validatePrinter,
		c.validateReceipt,
		c.validateDisplay,
		c.validateRender,
		c.validateAgent,
		c.validateSim,
		c.validateBridge,
		c.validateFeed,  // feed.*, merchant.id, merchant.store (feed.go)
		c.validateFleet, // fleet.* (fleet.go)
	} {
		section(v)
	}
}

func (c *Config) validateDevice(v *validator) {
	if _, ok := profile.Lookup(c.Device.Profile); !ok {
		v.add("device.profile", "%s", unknownProfile(c.Device.Profile))
	}
	v.oneOf("device.deployment", c.Device.Deployment, "beside", "on-device")
}

func (c *Config) validateMerchant(v *validator) {
	if strings.TrimSpace(c.Merchant.Name) == "" {
		v.add("merchant.name", "merchant.name is empty: set the shop name printed on receipts")
	}
	if cur, err := currency.ParseISO(c.Merchant.Currency); err != nil || cur.String() != c.Merchant.Currency {
		v.add("merchant.currency", "merchant.currency %q is not an ISO 4217 code: use three capital letters, like CAD or USD", c.Merchant.Currency)
	}
	if c.Merchant.StaticQR != "" {
		if why := badLinkURL(c.Merchant.StaticQR); why != "" {
			v.add("merchant.static_qr", "merchant.static_qr %q %s: copy the static QR's link from the OTTPay merchant portal", c.Merchant.StaticQR, why)
		}
	}
	for i, l := range c.Merchant.PaymentLinks {
		k := fmt.Sprintf("merchant.payment_links[%d]", i)
		if strings.TrimSpace(l.Name) == "" {
			v.add(k+".name", "%s.name is empty: name the link as the placard should print it, like \"Gift card $50\"", k)
		}
		if why := badLinkURL(l.URL); why != "" {
			v.add(k+".url", "%s.url %q %s: copy the payment link from the OTTPay merchant portal", k, l.URL, why)
		}
	}
	if c.Display.IdleQR && c.Merchant.StaticQR == "" {
		v.add("display.idle_qr", "display.idle_qr is on but merchant.static_qr is empty: set the static QR's link, or turn idle_qr off")
	}
}

// badLinkURL says what is wrong with a static QR or payment link URL
// ("" when it is an absolute http or https URL with a host that fits a QR).
func badLinkURL(s string) string {
	if strings.TrimSpace(s) == "" {
		return "is empty"
	}
	u, err := url.Parse(s)
	switch {
	case err != nil || s != strings.TrimSpace(s):
		return "is not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "is not an http or https URL"
	case u.Host == "":
		return "has no host"
	case len(s) > 1024:
		return "is longer than 1024 bytes (too long for a QR)"
	}
	return ""
}

func (c *Config) validateGateway(v *validator) {
	g := c.Gateway
	remote := validateGatewayURL(v, g.URL)
	if !merchantIDRe.MatchString(g.MerchantID) {
		v.add("gateway.merchant_id", "gateway.merchant_id %q must be two letters and eight digits, like ON00004652", g.MerchantID)
	}
	switch {
	case g.SignKey == "":
		v.add("gateway.sign_key", "gateway.sign_key is missing: set the 16-character key from OTTPay in POSAGENT_GATEWAY_SIGN_KEY (or gateway.sign_key)")
	case len(g.SignKey) != 16:
		v.add("gateway.sign_key", "gateway.sign_key must be 16 characters (it has %d): copy it again from OTTPay; better, set POSAGENT_GATEWAY_SIGN_KEY", len(g.SignKey))
	case remote && g.SignKey == ExampleSignKey:
		v.add("gateway.sign_key", "gateway.sign_key is the public example key but gateway.url is a real gateway: set your merchant's key in POSAGENT_GATEWAY_SIGN_KEY")
	}
	if !operatorIDRe.MatchString(g.OperatorID) {
		v.add("gateway.operator_id", "gateway.operator_id %q must be the 10-digit number OTTPay issued, like \"0000000696\" (quote it in YAML)", g.OperatorID)
	}
	if g.TerminalNo != "" && !terminalRe.MatchString(g.TerminalNo) {
		v.add("gateway.terminal_no", "gateway.terminal_no %q: use up to 32 letters, digits, - or _, like LANE1", g.TerminalNo)
	}
	if g.Timeout <= 0 || g.Timeout > 2*time.Minute {
		v.add("gateway.timeout", "gateway.timeout %s: use a duration between 1s and 2m (15s-20s is usual)", fmtDuration(g.Timeout))
	}
	if g.FeeAllowanceBPS < 0 || g.FeeAllowanceBPS > 1000 {
		v.add("gateway.fee_allowance_bps", "gateway.fee_allowance_bps %d: use 0 (no convenience fee on this account) up to 1000 (10 %%), in basis points of the amount due, e.g. 300 for 3 %%", g.FeeAllowanceBPS)
	}
	validateCallbackURL(v, g.CallbackURL, remote)
	if _, err := time.LoadLocation(g.TimeZone); err != nil || g.TimeZone == "" || g.TimeZone == "Local" {
		v.add("gateway.time_zone", "gateway.time_zone %q: use the IANA zone the gateway's trade_time is in, like UTC or Asia/Shanghai", g.TimeZone)
	}
}

// validateCallbackURL checks gateway.callback_url: an absolute http(s) URL
// with a host, https with a real gateway (production), never loopback
// there (the gateway could not reach it).
func validateCallbackURL(v *validator, raw string, remote bool) {
	if raw == "" {
		return
	}
	const key = "gateway.callback_url"
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.Fragment != "":
		v.add(key, "%s %q is not an absolute URL: use the public https address the shop forwards to the agent's /v1/ottpay/callback, like https://shop.example.com/v1/ottpay/callback", key, raw)
	case remote && u.Scheme != "https":
		v.add(key, "%s %q: a real gateway sends call-backs over the internet, so use https (a reverse proxy or tunnel with a certificate in front of the agent)", key, raw)
	case remote && IsLoopback(net.JoinHostPort(u.Hostname(), "0")):
		v.add(key, "%s %q is this machine's loopback address, which the gateway cannot reach: use the shop's public address", key, raw)
	}
}

// validateGatewayURL checks gateway.url and reports whether it names a
// gateway on another machine (real money); "sim" is the built-in simulator.
func validateGatewayURL(v *validator, raw string) (remote bool) {
	if raw == "sim" {
		return false
	}
	u, err := url.Parse(raw)
	remote = err == nil && u.Hostname() != "" && !IsLoopback(net.JoinHostPort(u.Hostname(), "0"))
	switch {
	case raw == "":
		v.add("gateway.url", "gateway.url is missing: use sim (the built-in simulator) or https://frontapi.ottpay.com:443/processV2")
	case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
		v.add("gateway.url", "gateway.url %s is not a URL: use sim or https://frontapi.ottpay.com:443/processV2", raw)
	case u.Scheme == "http" && !IsLoopback(net.JoinHostPort(u.Hostname(), "0")):
		v.add("gateway.url", "gateway.url %s uses plain http to another machine: use https (http is allowed only for a simulator on 127.0.0.1)", raw)
	case u.User != nil:
		v.add("gateway.url", "gateway.url must not carry a user or password: remove the user@ part")
	}
	return remote
}

func (c *Config) validateAPI(v *validator) {
	if _, port, err := net.SplitHostPort(c.API.Listen); err != nil || port == "" {
		v.add("api.listen", "api.listen %q is not host:port: use 127.0.0.1:7420", c.API.Listen)
	} else if !IsLoopback(c.API.Listen) && !c.API.HasTokens() {
		v.add("api.listen", "api.listen %s is not loopback: set api.token (or POSAGENT_API_TOKEN), or listen on 127.0.0.1:%s", c.API.Listen, port)
	}
	if c.API.Token != "" && len(c.API.Token) < 16 {
		v.add("api.token", "api.token is too short (%d characters): use at least 16 random characters, e.g. from `openssl rand -hex 16`", len(c.API.Token))
	}
}

func (c *Config) validateStore(v *validator) {
	if c.Store.Path == "" {
		v.add("store.path", "store.path is missing: use /var/lib/posagent/posagent.db (or ./posagent.db)")
	}
	if c.Store.Retention < 0 {
		v.add("store.retention", "store.retention %s is negative: use 0 (keep everything) or a duration like 400d", fmtDuration(c.Store.Retention))
	}
	if b := c.Store.Backup; b.Dir != "" {
		if b.Every < time.Minute {
			v.add("store.backup.every", "store.backup.every %s is too short: use a duration of at least 1m, like 24h", fmtDuration(b.Every))
		}
		if b.Keep < 1 || b.Keep > 1000 {
			v.add("store.backup.keep", "store.backup.keep %d: keep 1 to 1000 backups (default 7)", b.Keep)
		}
	}
}

func (c *Config) validateScanners(v *validator) {
	names := map[string]int{}
	for i, s := range c.Scanners {
		k := func(f string) string { return fmt.Sprintf("scanners[%d].%s", i, f) }
		if s.Name == "" {
			v.add(k("name"), "%s is empty: give each scanner a name, like counter", k("name"))
		} else if j, dup := names[s.Name]; dup {
			v.add(k("name"), "%s %q is also the name of scanners[%d]: names must be unique", k("name"), s.Name, j)
		} else {
			names[s.Name] = i
		}
		if !v.oneOf(k("kind"), s.Kind, "serial", "hid", "bridge") {
			continue
		}
		c.validateScannerKind(v, s, k)
		if s.VID < 0 || s.VID > 0xFFFF {
			v.add(k("vid"), "%s %d is out of range: a USB vendor id is 0x0001-0xffff", k("vid"), s.VID)
		}
		if s.PID < 0 || s.PID > 0xFFFF {
			v.add(k("pid"), "%s %d is out of range: a USB product id is 0x0001-0xffff", k("pid"), s.PID)
		}
		if s.Interface < -1 || s.Interface > 255 {
			v.add(k("interface"), "%s %d: use -1 (any) or the USB interface number 0-255", k("interface"), s.Interface)
		}
		v.oneOf(k("terminator"), s.Terminator, "auto", "cr", "lf", "crlf", "tab", "none")
		if s.Dedup < 0 {
			v.add(k("dedup_window"), "%s %s is negative: use 0 (agent.dedup) or a duration like 2s", k("dedup_window"), fmtDuration(s.Dedup))
		}
	}
}

// validateScannerKind checks the keys a scanner's kind needs; k names a
// key of this scanner (scanners[i].f).
func (c *Config) validateScannerKind(v *validator, s Scanner, k func(string) string) {
	switch s.Kind {
	case "serial":
		if s.Device == "" {
			v.add(k("device"), "%s missing for kind serial: use the tty, like /dev/ttyACM0 (posagent devices lists them)", k("device"))
		} else if !strings.HasPrefix(s.Device, "/") && !strings.HasPrefix(strings.ToUpper(s.Device), "COM") {
			v.add(k("device"), "%s %q is not a device path: use an absolute path like /dev/ttyACM0 or /dev/serial/by-id/...", k("device"), s.Device)
		}
		if !slices.Contains(bauds, s.Baud) {
			v.add(k("baud"), "%s %d is not a standard rate: use 9600 (most scanners) or 115200", k("baud"), s.Baud)
		}
		v.oneOf(k("parity"), s.Parity, "none", "odd", "even")
		if s.StopBits != 1 && s.StopBits != 2 {
			v.add(k("stop_bits"), "%s %d: use 1 or 2", k("stop_bits"), s.StopBits)
		}
	case "hid":
		if s.VID == 0 {
			v.add(k("vid"), "%s missing for kind hid: set the USB vendor id, like 0x0c2e (posagent devices lists them)", k("vid"))
		}
		if s.PID == 0 {
			v.add(k("pid"), "%s missing for kind hid: set the USB product id, like 0x0b8f (it changes with the scanner's interface mode; posagent devices lists it)", k("pid"))
		}
		v.oneOf(k("mode"), s.Mode, "keyboard", "hidpos")
		if c.Device.Deployment == "on-device" {
			v.add(k("kind"), "%s hid with device.deployment on-device: Android owns USB devices and the Android build has no HID support; use kind bridge (the helper forwards the scans)", k("kind"))
		}
	case "bridge":
		v.oneOf(k("mode"), s.Mode, "keyboard", "hidpos")
	}
}

func (c *Config) validatePrinter(v *validator) {
	p := c.Printer
	if v.oneOf("printer.kind", p.Kind, "none", "serial", "usb", "network", "file", "bridge") {
		c.validatePrinterKind(v)
	}
	maxDots := 0
	switch p.Paper {
	case "58mm":
		maxDots = 384
	case "80mm":
		maxDots = 576
	default:
		v.add("printer.paper", "printer.paper %s: use 58mm or 80mm", p.Paper)
	}
	if p.Dots < 0 || (maxDots > 0 && p.Dots > maxDots) || (p.Dots > 0 && p.Dots%8 != 0) {
		v.add("printer.dots", "printer.dots %d does not fit %s paper: use 0 (automatic, %d) or a multiple of 8 up to %d (Epson TM-T88: 512)", p.Dots, p.Paper, maxDots, maxDots)
	}
	v.oneOf("printer.cut", p.Cut, "full", "partial", "none")
	if len(p.Copies) == 0 && p.AutoPrint && p.Kind != "none" {
		v.add("printer.copies", "printer.copies is empty but printer.auto_print is on: list customer and/or merchant, or turn auto_print off")
	}
	seen := map[string]bool{}
	for i, cp := range p.Copies {
		key := fmt.Sprintf("printer.copies[%d]", i)
		if v.oneOf(key, cp, "customer", "merchant") && seen[cp] {
			v.add(key, "%s %s is listed twice: list each copy once", key, cp)
		}
		seen[cp] = true
	}
}

// validatePrinterKind checks the keys printer.kind needs.
func (c *Config) validatePrinterKind(v *validator) {
	p := c.Printer
	switch p.Kind {
	case "network":
		if host, port, err := net.SplitHostPort(p.Address); err != nil || host == "" || port == "" {
			v.add("printer.address", "printer.address %q is not host:port: use the printer's address and raw port, like 192.168.1.50:9100", p.Address)
		}
	case "serial", "usb":
		if p.Device == "" {
			ex := "/dev/usb/lp0"
			if p.Kind == "serial" {
				ex = "/dev/ttyUSB0"
			}
			v.add("printer.device", "printer.device missing for kind %s: use the device file, like %s", p.Kind, ex)
		}
		if p.Kind == "serial" && !slices.Contains(bauds, p.Baud) {
			v.add("printer.baud", "printer.baud %d is not a standard rate: use the printer's setting, often 9600, 19200 or 38400", p.Baud)
		}
	case "file":
		if p.Path == "" {
			v.add("printer.path", "printer.path missing for kind file: use a file the ESC/POS bytes are appended to, like ./receipts.bin")
		}
	case "bridge":
		if !c.Bridge.Enabled {
			v.add("printer.kind", "printer.kind bridge needs the bridge: set bridge.enabled: true")
		}
	}
}

// validateReceipt checks receipt.language. Every language works on every
// printer: without printer.chinese, Chinese is drawn with render.font and
// sent as raster lines (posagent doctor says when no font is found).
func (c *Config) validateReceipt(v *validator) {
	v.oneOf("receipt.language", c.Receipt.Language, "en", "zh", "en+zh")
}

func (c *Config) validateDisplay(v *validator) {
	dsp := c.Display
	if v.oneOf("display.kind", dsp.Kind, "web", "pole", "png", "none") {
		switch dsp.Kind {
		case "pole":
			if dsp.Pole.Device == "" {
				v.add("display.pole.device", "display.pole.device missing for display.kind pole: use the serial device, like /dev/ttyUSB1")
			}
			if !slices.Contains(bauds, dsp.Pole.Baud) {
				v.add("display.pole.baud", "display.pole.baud %d is not a standard rate: pole displays use 9600", dsp.Pole.Baud)
			}
			if v.oneOf("display.pole.dialect", dsp.Pole.Dialect, "epson", "cd5220") && dsp.Pole.Chinese && dsp.Pole.Dialect != "cd5220" {
				v.add("display.pole.chinese", "display.pole.chinese needs display.pole.dialect cd5220 (Chinese is shown on CD5220-compatible models with a GB2312 font): set the dialect to cd5220, or turn chinese off for an %s display", dsp.Pole.Dialect)
			}
		case "png":
			if dsp.PNG.Path == "" {
				v.add("display.png.path", "display.png.path missing for display.kind png: use a file name, like ./display.png")
			}
			if dsp.PNG.Width < 16 || dsp.PNG.Height < 16 || dsp.PNG.Width > 4096 || dsp.PNG.Height > 4096 {
				v.add("display.png.width", "display.png %dx%d is not a usable size: use the screen's pixels, 16-4096 each (Sunmi T1 mini: 128x40)", dsp.PNG.Width, dsp.PNG.Height)
			}
		}
	}
	v.oneOf("display.language", dsp.Language, "en", "zh", "auto")
	if dsp.Hold < 0 {
		v.add("display.hold", "display.hold %s is negative: use a duration like 5s", fmtDuration(dsp.Hold))
	}
	if dsp.RateMaxAge < 0 {
		v.add("display.rate_max_age", "display.rate_max_age %s is negative: use a duration like 2h", fmtDuration(dsp.RateMaxAge))
	}
	validateTipChoices(v, dsp.TipChoices)
	c.validateTips(v)
}

// validateTips: tips.max_percent 1-1000, and no suggestion above it (the
// display would offer a tip that needs a manager's approval).
func (c *Config) validateTips(v *validator) {
	m := c.Tips.MaxPercent
	if m < 1 || m > 1000 {
		v.add("tips.max_percent", "tips.max_percent %d is not a percentage from 1 to 1000: a tip above this percent of the amount needs a manager's approval (default 30)", m)
		return
	}
	for _, t := range c.Display.TipChoices {
		if t > m {
			v.add("display.tip_choices", "display.tip_choices: %d %% is above tips.max_percent %d: a suggestion must be a tip the customer may choose alone; lower it or raise tips.max_percent", t, m)
		}
	}
}

// validateTipChoices: up to 5 suggestions, each 1-100 percent, rising.
func validateTipChoices(v *validator, cs []int) {
	if len(cs) > 5 {
		v.add("display.tip_choices", "display.tip_choices has %d suggestions: a customer reads at most 5 (e.g. [10, 15, 18])", len(cs))
	}
	for _, c := range cs {
		if c < 1 || c > 100 {
			v.add("display.tip_choices", "display.tip_choices: %d is not a percentage from 1 to 100 (e.g. [10, 15, 18])", c)
		}
	}
	for i, c := range cs {
		if i > 0 && c <= cs[i-1] {
			v.add("display.tip_choices", "display.tip_choices %v: list each suggestion once, smallest first", cs)
			break
		}
	}
}

func (c *Config) validateRender(v *validator) {
	f := c.Render.Font
	if f == "" {
		return
	}
	ext := strings.ToLower(filepath.Ext(f))
	switch {
	case !filepath.IsAbs(f):
		v.add("render.font", "render.font %q is not an absolute path: name the font file in full, like /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc (or leave it empty to look in the usual places)", f)
	case ext != ".ttc" && ext != ".ttf" && ext != ".otf" && ext != ".otc":
		v.add("render.font", "render.font %q is not a font file (.ttc, .ttf or .otf): use a CJK font such as /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", f)
	}
}

// validateAgent checks agent.* and log.* (agent.log_level and
// agent.log_format are old names: load.go, migrateLog).
func (c *Config) validateAgent(v *validator) {
	a := c.Agent
	if a.TimeScale <= 0 || a.TimeScale > 100 {
		v.add("agent.time_scale", "agent.time_scale %g: use 1 in production (tests use 0.01-0.05); it must be above 0", a.TimeScale)
	}
	v.positive("agent.scan_window", a.ScanWindow)
	v.positive("agent.qr_window", a.QRWindow)
	v.positive("agent.poll_interval", a.PollInterval)
	if a.PollInterval > 0 && a.ScanWindow > 0 && a.PollInterval >= a.ScanWindow {
		v.add("agent.poll_interval", "agent.poll_interval %s is not shorter than agent.scan_window %s: poll every 3s-5s", fmtDuration(a.PollInterval), fmtDuration(a.ScanWindow))
	}
	if a.Dedup < 0 {
		v.add("agent.dedup", "agent.dedup %s is negative: use 0 (off) or a duration like 2s", fmtDuration(a.Dedup))
	}
	v.positive("agent.await_code_timeout", a.AwaitCodeTimeout)
	v.positive("agent.cart_timeout", a.CartTimeout)
	if a.DuplicateWindow < 0 {
		v.add("agent.duplicate_window", "agent.duplicate_window %s is negative: use 0 (off) or a duration like 10m", fmtDuration(a.DuplicateWindow))
	}
	if a.IdempotencyWindow != 0 && a.IdempotencyWindow < time.Hour {
		v.add("agent.idempotency_window", "agent.idempotency_window %s is shorter than an hour: a POS retries a request whose answer it lost for longer; use 24h (the default), or 0 to keep keys as long as their payment", fmtDuration(a.IdempotencyWindow))
	}
	if a.ShutdownGrace < 0 || a.ShutdownGrace > 2*time.Minute {
		v.add("agent.shutdown_grace", "agent.shutdown_grace %s: use 0 to 2m (default 10s); systemd's stop timeout must be longer", fmtDuration(a.ShutdownGrace))
	}
	if a.OutboxWorkers < 1 || a.OutboxWorkers > 64 {
		v.add("agent.outbox_workers", "agent.outbox_workers %d: use 1 to 64 (default 4)", a.OutboxWorkers)
	}
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "text", "json")
}

func (c *Config) validateSim(v *validator) {
	if c.Sim.TimeScale <= 0 || c.Sim.TimeScale > 100 {
		v.add("sim.time_scale", "sim.time_scale %g: use 1 (tests use 0.01-0.05); it must be above 0", c.Sim.TimeScale)
	}
	if c.Gateway.URL == "sim" && !IsLoopback(c.Sim.Listen) {
		v.add("sim.listen", "sim.listen %q: the in-process simulator serves on loopback only: use 127.0.0.1:0 (a free port) or 127.0.0.1:PORT", c.Sim.Listen)
	}
}

func (c *Config) validateBridge(v *validator) {
	if c.Bridge.Token != "" && len(c.Bridge.Token) < 16 {
		v.add("bridge.token", "bridge.token is too short (%d characters): use at least 16 random characters, e.g. from `openssl rand -hex 16`", len(c.Bridge.Token))
	}
	if (c.Bridge.Enabled || c.Printer.Kind == "bridge") && c.BridgeToken() == "" {
		v.add("bridge.token", "bridge.enabled needs a token the helper authenticates with: set bridge.token (or POSAGENT_BRIDGE_TOKEN), e.g. from `openssl rand -hex 16`")
	}
}

var bauds = []int{1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200}

func fmtDuration(d time.Duration) string {
	if d != 0 && d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}

// WidthDots is the printable width: printer.dots, else from the paper.
func (p Printer) WidthDots() int {
	if p.Dots > 0 {
		return p.Dots
	}
	if p.Paper == "58mm" {
		return 384
	}
	return 576
}
