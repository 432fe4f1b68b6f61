package doctor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/daemon"
	"github.com/posagent/posagent/drivers/serial"
	"github.com/posagent/posagent/drivers/usbhid"
	"github.com/posagent/posagent/feed"
	"github.com/posagent/posagent/fonts"
	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/store"
	"github.com/posagent/posagent/store/backup"
)

// Options are the knobs of a doctor run.
type Options struct {
	Timeout   time.Duration    // for each network or lock check (0: 3 s)
	PrintTest bool             // also print a test receipt
	Now       func() time.Time // the clock being checked (nil: time.Now)
	MaxSkew   time.Duration    // allowed difference from the gateway's clock (0: 2 min)
	// LoadFont finds the CJK font (nil: fonts.Load, the system's).
	LoadFont func(path string) (*fonts.CJK, error)
}

// doctor writes one line per check and counts the failures.
type doctor struct {
	out    io.Writer
	opt    Options
	failed int
}

func (d *doctor) ok(name, format string, args ...any) {
	fmt.Fprintf(d.out, "ok    %s: %s\n", name, fmt.Sprintf(format, args...))
}

func (d *doctor) fail(name, format string, args ...any) {
	d.failed++
	fmt.Fprintf(d.out, "FAIL  %s: %s\n", name, fmt.Sprintf(format, args...))
}

func (d *doctor) warn(name, format string, args ...any) {
	fmt.Fprintf(d.out, "warn  %s: %s\n", name, fmt.Sprintf(format, args...))
}

// Run runs every check on a loaded configuration (cfg may be partial when
// loadErr is a *config.Error), writes one line per check to out, and
// returns the number that failed.
func Run(ctx context.Context, out io.Writer, cfg *config.Config, src config.Sources, loadErr error, opt Options) int {
	if opt.Timeout <= 0 {
		opt.Timeout = 3 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.MaxSkew <= 0 {
		opt.MaxSkew = 2 * time.Minute
	}
	d := &doctor{out: out, opt: opt}

	// The configuration: every load and validation problem.
	var ce *config.Error
	switch {
	case errors.As(loadErr, &ce):
		for _, p := range ce.Problems {
			d.fail("config", "%s", p)
		}
	case loadErr != nil:
		d.fail("config", "%v", loadErr)
	}
	if cfg == nil {
		d.fail("config", "cannot check anything else until the file loads: fix the problems above (posagent config check)")
		return d.failed
	}
	for _, w := range src.Warnings {
		d.warn("config", "%s", w)
	}
	problems := cfg.Problems()
	for _, p := range problems {
		d.fail("config", "%s", p)
	}
	if loadErr == nil && len(problems) == 0 {
		file := src.File
		if file == "" {
			file = "no file, defaults"
		}
		d.ok("config", "%s (profile %s)", file, src.Profile)
	}

	d.journal(cfg.Store.Path)
	d.backups(cfg.Store.Backup)
	for i, sc := range cfg.Scanners {
		d.scanner(i, sc)
	}
	d.printer(ctx, cfg)
	d.display(cfg.Display)
	d.cjkFont(cfg)
	d.apiTLS(cfg)
	date := d.gateway(ctx, cfg)
	d.clock(date)
	d.feed(ctx, cfg)
	if opt.PrintTest {
		d.printTestReceipt(ctx, cfg)
	}
	return d.failed
}

// journal: the directory is writable and no running agent holds the file.
func (d *doctor) journal(path string) {
	const name = "journal"
	if path == "" {
		d.fail(name, "store.path is empty: set it, e.g. /var/lib/posagent/posagent.db")
		return
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.fail(name, "directory %s does not exist: create it (scripts/install makes /var/lib/posagent) or fix store.path", dir)
		return
	case err != nil:
		d.fail(name, "%v: fix store.path or the directory's permissions", err)
		return
	case !fi.IsDir():
		d.fail(name, "%s is not a directory: fix store.path", dir)
		return
	}
	if err := writableDir(dir); err != nil {
		d.fail(name, "directory %s is not writable by this user (%s): run as the service user (sudo -u posagent posagent doctor) or fix its owner", dir, err)
		return
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		d.ok(name, "%s does not exist yet; the agent will create it", path)
		return
	}
	// The same check the agent makes before it starts (read-only).
	rep, err := store.Inspect(path, store.CheckOptions{LockTimeout: d.opt.Timeout})
	switch {
	case errors.Is(err, store.ErrLocked):
		d.fail(name, "%s is locked: an agent is running (systemctl status posagent); it checked the journal when it started. Stop it to run every check, or ignore this line", path)
		return
	case err != nil:
		d.fail(name, "%s cannot be checked: %v", path, err)
		return
	}
	for _, w := range rep.Warnings() {
		d.warn(name, "%s", w)
	}
	if rep.Damaged() {
		var dmg []string
		for _, f := range rep.Findings {
			if f.Damage {
				dmg = append(dmg, f.String())
			}
		}
		if len(dmg) > 3 {
			dmg = append(dmg[:3], fmt.Sprintf("and %d more", len(dmg)-3))
		}
		d.fail(name, "%s is damaged (%s): the agent will not start on it. Run posagent journal check for every finding; then restore a backup (posagent journal restore FILE) or salvage it (posagent journal salvage NEW.db)", path, strings.Join(dmg, "; "))
		return
	}
	if rep.Rollback != nil {
		d.fail(name, "%s: %s: the agent will not start on it. Restore the right file (posagent journal restore FILE) or accept the loss (posagent journal accept-rollback)", path, rep.Rollback)
		return
	}
	if rep.Missing {
		d.ok(name, "%s does not exist yet; the agent will create it", path)
		return
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		d.fail(name, "%s is not writable by this user: %v: chown it to the service user", path, err)
		return
	}
	f.Close()
	d.ok(name, "%s checks sound (%d payments, %d open, %d events, %d KiB) and is not locked", path, rep.Payments, rep.Open, rep.Events, rep.Size/1024)
}

// backups: the newest scheduled backup is there and recent.
func (d *doctor) backups(b config.Backup) {
	const name = "backup"
	if b.Dir == "" {
		d.warn(name, "no scheduled backups of the journal: set store.backup.dir (ideally on another disk or card)")
		return
	}
	paths, times, err := backup.List(b.Dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.warn(name, "%s does not exist yet; the agent creates it with the first backup", b.Dir)
		return
	case err != nil:
		d.fail(name, "%v: fix store.backup.dir or its permissions", err)
		return
	case len(paths) == 0:
		d.warn(name, "no backup in %s yet; the agent makes one when it starts", b.Dir)
		return
	}
	age := d.opt.Now().Sub(times[0])
	if b.Every > 0 && age > 2*b.Every {
		d.fail(name, "the newest backup %s is %s old (store.backup.every %s): is the agent running? Its log says why backups fail", paths[0], age.Round(time.Minute), b.Every)
		return
	}
	d.ok(name, "newest %s, %s old (%d kept in %s)", filepath.Base(paths[0]), age.Round(time.Second), len(paths), b.Dir)
}

// writableDir creates and removes a file in dir.
func writableDir(dir string) error {
	f, err := os.CreateTemp(dir, ".posagent-doctor-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return pe.Err
		}
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}

func (d *doctor) scanner(i int, sc config.Scanner) {
	name := fmt.Sprintf("scanner %s", sc.Name)
	key := fmt.Sprintf("scanners[%d]", i)
	switch sc.Kind {
	case "serial":
		if msg, ok := d.serialCheck(serial.Config{Device: sc.Device, Baud: sc.Baud, Parity: sc.Parity, StopBits: sc.StopBits}, key+".device"); ok {
			d.ok(name, "%s opens at %d baud", sc.Device, sc.Baud)
		} else {
			d.fail(name, "%s", msg)
		}
	case "hid":
		sel := fmt.Sprintf("%04x:%04x", sc.VID, sc.PID)
		if !usbhid.Supported() {
			d.fail(name, "%s: %s", sel, usbhid.UnsupportedMessage)
			return
		}
		devs, err := usbhid.Enumerate()
		if errors.Is(err, usbhid.ErrNoAccess) {
			d.fail(name, "%s: %v", sel, err) // the driver says what is wrong with USB access
			return
		}
		if err != nil {
			d.fail(name, "%s: %v: install scripts/99-posagent.rules and replug, or run as the service user", sel, err)
			return
		}
		for _, dev := range devs {
			if int(dev.VID) == sc.VID && int(dev.PID) == sc.PID && (sc.Interface < 0 || dev.Interface == sc.Interface) {
				d.ok(name, "%s present (%s %s, interface %d)", sel, dev.Manufacturer, dev.Product, dev.Interface)
				return
			}
		}
		d.fail(name, "no USB HID device %s: plug it in, check its mode (the PID changes with it), or fix %s.vid and %s.pid (posagent devices lists what is present)", sel, key, key)
	case "bridge":
		d.ok(name, "scans arrive through the bridge helper (POST /v1/scans); posagent status shows whether it is connected")
	default:
		d.fail(name, "kind %q: fix %s.kind", sc.Kind, key)
	}
}

// serialCheck opens and closes a serial device; on failure it says what to do.
func (d *doctor) serialCheck(c serial.Config, key string) (string, bool) {
	p, err := serial.Open(c)
	if err == nil {
		p.Close()
		return "", true
	}
	switch {
	case errors.Is(err, serial.ErrNotFound):
		return fmt.Sprintf("%s not found: plug the device in, or fix %s (posagent devices lists the serial ports)", c.Device, key), false
	case errors.Is(err, serial.ErrPermission):
		return fmt.Sprintf("%s: permission denied: %s", c.Device, serial.PermissionHint), false
	case errors.Is(err, serial.ErrBusy):
		return fmt.Sprintf("%s is busy: another program (a running agent?) has it open; stop it and check again", c.Device), false
	}
	return fmt.Sprintf("%v: fix %s", err, key), false
}

func (d *doctor) printer(ctx context.Context, cfg *config.Config) {
	const name = "printer"
	p := cfg.Printer
	switch p.Kind {
	case "none":
		d.ok(name, "none configured (printer.kind none)")
	case "bridge":
		if cfg.Bridge.Enabled {
			d.ok(name, "prints through the bridge helper; posagent status shows whether it is connected")
		} else {
			d.fail(name, "printer.kind bridge but bridge.enabled is false: set bridge.enabled: true")
		}
	case "network":
		dialer := net.Dialer{Timeout: d.opt.Timeout}
		conn, err := dialer.DialContext(ctx, "tcp", p.Address)
		if err != nil {
			d.fail(name, "%s", dialAdvice(p.Address, err, "is the printer on, and is printer.address right (the raw port is usually 9100)?"))
			return
		}
		conn.Close()
		d.ok(name, "%s accepts connections", p.Address)
	case "usb":
		d.deviceWritable(name, p.Device, "printer.device")
	case "serial":
		if msg, ok := d.serialCheck(serial.Config{Device: p.Device, Baud: p.Baud}, "printer.device"); ok {
			d.ok(name, "%s opens at %d baud", p.Device, p.Baud)
		} else {
			d.fail(name, "%s", msg)
		}
	case "file":
		if _, err := os.Stat(p.Path); err == nil {
			f, err := os.OpenFile(p.Path, os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				d.fail(name, "%s cannot be written: %v: fix its permissions or printer.path", p.Path, err)
				return
			}
			f.Close()
			d.ok(name, "%s is writable", p.Path)
			return
		}
		if err := writableDir(filepath.Dir(p.Path)); err != nil {
			d.fail(name, "cannot create %s: %v: fix printer.path", p.Path, err)
			return
		}
		d.ok(name, "%s will be created", p.Path)
	default:
		d.fail(name, "printer.kind %q: use none, serial, usb, network, file or bridge", p.Kind)
	}
}

// deviceWritable opens a character device for writing without blocking.
func (d *doctor) deviceWritable(name, dev, key string) {
	if dev == "" {
		d.fail(name, "%s is empty: set the device file, like /dev/usb/lp0", key)
		return
	}
	f, err := os.OpenFile(dev, os.O_WRONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.fail(name, "%s not found: plug the printer in and switch it on, or fix %s", dev, key)
	case errors.Is(err, fs.ErrPermission):
		d.fail(name, "%s: permission denied: install scripts/99-posagent.rules or add the service user to the lp group", dev)
	case err != nil:
		d.fail(name, "%s: %v: fix %s", dev, err, key)
	default:
		f.Close()
		d.ok(name, "%s can be opened for writing", dev)
	}
}

// cjkFont checks the font receipt pictures and display frames draw Chinese
// with. Missing, Chinese is left out of them: a failure where the printed
// receipt is a picture (Clover) or render.font names a file, else a warning.
func (d *doctor) cjkFont(cfg *config.Config) {
	const name = "font"
	load := d.opt.LoadFont
	if load == nil {
		load = fonts.Load
	}
	c, err := load(cfg.Render.Font)
	switch {
	case err == nil:
		defer c.Close()
		d.ok(name, "Chinese is drawn with %s (%s)", c.Name, c.Path)
	case cfg.Render.Font != "":
		d.fail(name, "%v: fix render.font, or leave it empty to find Noto Sans CJK (apt-get install fonts-noto-cjk)", err)
	case cfg.Printer.Image && cfg.Printer.Chinese:
		d.fail(name, "%v; receipts are printed as pictures here, so their Chinese would be left out", err)
	case cfg.Printer.Kind != "none" && !cfg.Printer.Chinese && chineseOnReceipts(cfg):
		d.fail(name, "%v; the printer has no Chinese font (printer.chinese: false), so receipts print %q where the Chinese would be drawn", err, printer.NoFontNote)
	default:
		d.warn(name, "%v; receipt previews and display frames say \"(Chinese text omitted)\" instead of showing Chinese", err)
	}
}

// chineseOnReceipts reports whether receipts carry Chinese: the labels
// (receipt.language) or the shop's name, address or footer.
func chineseOnReceipts(cfg *config.Config) bool {
	if cfg.Receipt.Language == "zh" || cfg.Receipt.Language == "en+zh" {
		return true
	}
	for _, s := range append(append([]string{cfg.Merchant.Name}, cfg.Merchant.Address...), cfg.Merchant.Footer...) {
		for _, r := range s {
			if fonts.IsCJK(r) {
				return true
			}
		}
	}
	return false
}

func (d *doctor) display(dsp config.Display) {
	const name = "display"
	switch dsp.Kind {
	case "pole":
		if msg, ok := d.serialCheck(serial.Config{Device: dsp.Pole.Device, Baud: dsp.Pole.Baud}, "display.pole.device"); ok {
			d.ok(name, "pole display %s opens at %d baud", dsp.Pole.Device, dsp.Pole.Baud)
		} else {
			d.fail(name, "%s", msg)
		}
	case "png":
		if err := writableDir(filepath.Dir(dsp.PNG.Path)); err != nil {
			d.fail(name, "cannot write %s: %v: fix display.png.path", dsp.PNG.Path, err)
			return
		}
		d.ok(name, "frames go to %s (%dx%d)", dsp.PNG.Path, dsp.PNG.Width, dsp.PNG.Height)
	case "web":
		d.ok(name, "web page at /display (open it in the customer screen's browser)")
	case "none":
		d.ok(name, "none")
	}
}

// dateRecorder remembers the Date header of the gateway's last response.
type dateRecorder struct {
	next http.RoundTripper
	mu   sync.Mutex // guards date
	date time.Time
}

func (r *dateRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err == nil {
		if t, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
			r.mu.Lock()
			r.date = t
			r.mu.Unlock()
		}
	}
	return resp, err
}

// gateway checks the OTTPay endpoint and returns its Date header (zero
// when not reached).
func (d *doctor) gateway(ctx context.Context, cfg *config.Config) time.Time {
	const name = "gateway"
	g := cfg.Gateway
	if g.URL == "sim" {
		d.ok(name, "the in-process simulator (gateway.url: sim): no account, no real money")
		return time.Time{}
	}
	u, err := url.Parse(g.URL)
	if err != nil || u.Host == "" {
		d.fail(name, "gateway.url %q is not a URL: fix it", g.URL)
		return time.Time{}
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
	}
	addr := net.JoinHostPort(u.Hostname(), port)
	dialer := net.Dialer{Timeout: d.opt.Timeout}
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		d.fail(name, "%s", dialAdvice(addr, err, "check the network, DNS and gateway.url; payments queue until it is reachable"))
		return time.Time{}
	}
	conn.Close()

	rec := &dateRecorder{next: gateway.DefaultHTTPClient().Transport}
	if rec.next == nil {
		rec.next = http.DefaultTransport
	}
	client, err := gateway.New(gateway.Config{
		URL: g.URL, MerchantID: g.MerchantID, SignKey: g.SignKey, OperatorID: g.OperatorID, TerminalNo: g.TerminalNo,
		HTTPClient: &http.Client{Timeout: d.opt.Timeout, Transport: rec},
	})
	if err != nil {
		d.fail(name, "%v: fix the gateway keys", err)
		return time.Time{}
	}
	cctx, cancel := context.WithTimeout(ctx, d.opt.Timeout)
	defer cancel()
	res, err := client.ExchangeRate(cctx, cfg.Merchant.Currency)
	rec.mu.Lock()
	date := rec.date
	rec.mu.Unlock()
	if refused, why := agent.CredentialsRefused(err); refused {
		d.fail(name, "gateway_auth: %s refuses this terminal's credentials (%s): check gateway.merchant_id and the sign key (POSAGENT_GATEWAY_SIGN_KEY) with OTTPay; the agent sends no payment while they are refused", addr, why)
		return date
	}
	if err != nil {
		d.fail(name, "%s reached, but EX_RATE_QUERY failed: %v: check gateway.merchant_id and the sign key (POSAGENT_GATEWAY_SIGN_KEY) with OTTPay", addr, err)
		return date
	}
	d.ok(name, "%s answered EX_RATE_QUERY: 1 %s = %.4f CNY", addr, cfg.Merchant.Currency, float64(res.Rate)/1e8)
	return date
}

// dialAdvice words a failed TCP connection.
func dialAdvice(addr string, err error, fix string) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("%s refused the connection: %s", addr, fix)
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("%s did not answer in time: %s", addr, fix)
	}
	return fmt.Sprintf("cannot connect to %s: %v: %s", addr, err, fix)
}

func (d *doctor) clock(gatewayDate time.Time) {
	const name = "clock"
	now := d.opt.Now()
	if y := now.Year(); y < 2024 || y > 2100 {
		d.fail(name, "the system time is %s: set it (timedatectl set-ntp true); payments and receipts carry this time", now.UTC().Format(time.RFC3339))
		return
	}
	if gatewayDate.IsZero() {
		d.ok(name, "%s (not compared: no gateway Date header)", now.UTC().Format(time.RFC3339))
		return
	}
	skew := now.Sub(gatewayDate)
	if skew.Abs() > d.opt.MaxSkew {
		d.fail(name, "%s off the gateway's clock: enable time synchronisation (timedatectl set-ntp true)", skew.Round(time.Second))
		return
	}
	d.ok(name, "within %s of the gateway's clock", skew.Abs().Round(time.Second))
}

// printTestReceipt prints a test receipt through the configured printer.
func (d *doctor) printTestReceipt(ctx context.Context, cfg *config.Config) {
	const name = "print-test"
	switch cfg.Printer.Kind {
	case "none":
		d.fail(name, "printer.kind is none: configure a printer first")
		return
	case "bridge":
		d.fail(name, "the bridge helper prints, and only while the agent runs: print a receipt with posagent receipt ID")
		return
	}
	open, err := daemon.PrinterOpener(cfg)
	if err != nil {
		d.fail(name, "%v", err)
		return
	}
	r := printer.Receipt{
		Copy: "customer", Merchant: cfg.Merchant.Name, Address: cfg.Merchant.Address, Terminal: cfg.Gateway.TerminalNo,
		Time: d.opt.Now(), PaymentID: "doctor-test", OrderID: "TEST", Mode: "scan", Wallet: "wechat",
		Amount: 0, Currency: cfg.Merchant.Currency, State: "succeeded",
		Footer: []string{"posagent doctor: test print", "not a payment"},
	}
	cctx, cancel := context.WithTimeout(ctx, d.opt.Timeout)
	defer cancel()
	w, err := open(cctx)
	if err != nil {
		d.fail(name, "%v", err)
		return
	}
	data := printer.Encode(r, daemon.PrinterProfile(cfg))
	if _, err := w.Write(data); err != nil {
		w.Close()
		d.fail(name, "%v", err)
		return
	}
	if err := w.Close(); err != nil {
		d.fail(name, "%v", err)
		return
	}
	d.ok(name, "sent a test receipt (%d bytes, %s paper, cut %s): check it came out whole", len(data), cfg.Printer.Paper, cfg.Printer.Cut)
}

// apiTLS is doctor's line about the API's transport: the certificate's
// fingerprint for the POS to pin, or a warning about plain HTTP on the LAN.
func (d *doctor) apiTLS(cfg *config.Config) {
	fp, err := fingerprintOf(cfg)
	switch {
	case err != nil && cfg.API.TLSAuto():
		d.ok("api", "TLS auto: the certificate is made on the first start (then doctor prints its fingerprint)")
	case err != nil:
		d.fail("api", "TLS certificate: %v", err)
	case fp != "":
		d.ok("api", "TLS; certificate SHA-256 fingerprint for the POS to pin: %s", fp)
	case !config.IsLoopback(cfg.API.Listen):
		d.warn("api", "plain HTTP on %s: tokens and payments cross the LAN readable; set api.tls.cert: auto", cfg.API.Listen)
	default:
		d.ok("api", "plain HTTP on loopback %s", cfg.API.Listen)
	}
}

// feed: with feed.enabled, the connection, the stream and the lane's
// permissions (feed.Probe; nothing is stored in the stream).
func (d *doctor) feed(ctx context.Context, cfg *config.Config) {
	if !cfg.Feed.Enabled {
		return
	}
	for _, c := range feed.Probe(ctx, daemon.FeedConn(cfg), daemon.FeedIdentity(cfg), cfg.Feed.Stream, d.opt.Timeout) {
		switch c.Level {
		case "ok":
			d.ok(c.Name, "%s", c.Detail)
		case "warn":
			d.warn(c.Name, "%s", c.Detail)
		default:
			d.fail(c.Name, "%s", c.Detail)
		}
	}
}

// fingerprintOf is the SHA-256 fingerprint of the API's certificate as the
// config places it ("" without TLS), for status and doctor.
func fingerprintOf(cfg *config.Config) (string, error) {
	if cfg.API.TLS.Cert == "" {
		return "", nil
	}
	p := cfg.API.TLS.Cert
	if cfg.API.TLSAuto() {
		p, _ = api.AutoCertPaths(cfg.Store.Path)
	}
	return api.CertFileFingerprint(p)
}
