package config

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// base returns the validated defaults for a table case to break.
func base(t *testing.T) *Config {
	t.Helper()
	cfg, _, err := load("", nil, []string{filepath.Join(t.TempDir(), "none.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	return cfg
}

func TestValidateRules(t *testing.T) {
	serial := Scanner{Name: "counter", Kind: "serial", Device: "/dev/ttyACM0", Baud: 9600, Parity: "none", StopBits: 1, Interface: -1, Mode: "keyboard", Terminator: "auto"}
	hid := Scanner{Name: "handheld", Kind: "hid", Interface: -1, Mode: "keyboard", Terminator: "auto", Baud: 9600, Parity: "none", StopBits: 1}
	cases := []struct {
		name   string
		change func(c *Config)
		want   string
	}{
		{"profile", func(c *Config) { c.Device.Profile = "clover-flx" }, `device.profile "clover-flx" is not a known profile (did you mean clover-flex?)`},
		{"deployment", func(c *Config) { c.Device.Deployment = "ondevice" }, "device.deployment ondevice: use beside or on-device (did you mean on-device?)"},
		{"merchant name", func(c *Config) { c.Merchant.Name = " " }, "merchant.name is empty"},
		{"sim listen", func(c *Config) { c.Sim.Listen = "0.0.0.0:7421" }, `sim.listen "0.0.0.0:7421": the in-process simulator serves on loopback only`},
		{"currency letters", func(c *Config) { c.Merchant.Currency = "cad" }, `merchant.currency "cad" is not an ISO 4217 code: use three capital letters, like CAD or USD`},
		{"currency unknown", func(c *Config) { c.Merchant.Currency = "XYZ" }, `merchant.currency "XYZ" is not an ISO 4217 code`},
		{"url empty", func(c *Config) { c.Gateway.URL = "" }, "gateway.url is missing: use sim"},
		{"url garbage", func(c *Config) { c.Gateway.URL = "frontapi.ottpay.com" }, "gateway.url frontapi.ottpay.com is not a URL"},
		{"url http remote", func(c *Config) { c.Gateway.URL = "http://frontapi.ottpay.com/processV2" }, "uses plain http to another machine: use https"},
		{"example key with real gateway", func(c *Config) { c.Gateway.URL = "https://frontapi.ottpay.com:443/processV2" }, "gateway.sign_key is the public example key but gateway.url is a real gateway"},
		{"merchant id", func(c *Config) { c.Gateway.MerchantID = "X1" }, `gateway.merchant_id "X1" must be two letters and eight digits, like ON00004652`},
		{"sign key missing", func(c *Config) { c.Gateway.SignKey = "" }, "gateway.sign_key is missing"},
		{"sign key length", func(c *Config) { c.Gateway.SignKey = "short" }, "gateway.sign_key must be 16 characters (it has 5)"},
		{"operator id", func(c *Config) { c.Gateway.OperatorID = "696" }, `gateway.operator_id "696" must be the 10-digit number`},
		{"terminal no", func(c *Config) { c.Gateway.TerminalNo = "lane 1" }, `gateway.terminal_no "lane 1"`},
		{"timeout", func(c *Config) { c.Gateway.Timeout = 0 }, "gateway.timeout 0s: use a duration between 1s and 2m"},
		{"listen not loopback", func(c *Config) { c.API.Listen = "0.0.0.0:7420" }, "api.listen 0.0.0.0:7420 is not loopback: set api.token (or POSAGENT_API_TOKEN), or listen on 127.0.0.1:7420"},
		{"listen garbage", func(c *Config) { c.API.Listen = "7420" }, `api.listen "7420" is not host:port`},
		{"token short", func(c *Config) { c.API.Token = "abc" }, "api.token is too short (3 characters)"},
		{"store path", func(c *Config) { c.Store.Path = "" }, "store.path is missing"},
		{"retention", func(c *Config) { c.Store.Retention = -time.Hour }, "store.retention -1h0m0s is negative"},
		{"idempotency window", func(c *Config) { c.Agent.IdempotencyWindow = 10 * time.Minute }, "agent.idempotency_window 10m0s is shorter than an hour"},
		{"idempotency window negative", func(c *Config) { c.Agent.IdempotencyWindow = -time.Hour }, "agent.idempotency_window -1h0m0s is shorter than an hour"},
		{"scanner kind", func(c *Config) { s := serial; s.Kind = "usb"; c.Scanners = []Scanner{s} }, "scanners[0].kind usb: use serial, hid or bridge"},
		{"scanner device", func(c *Config) { s := serial; s.Device = ""; c.Scanners = []Scanner{s} }, "scanners[0].device missing for kind serial"},
		{"scanner device relative", func(c *Config) { s := serial; s.Device = "ttyACM0"; c.Scanners = []Scanner{s} }, `scanners[0].device "ttyACM0" is not a device path`},
		{"scanner baud", func(c *Config) { s := serial; s.Baud = 9601; c.Scanners = []Scanner{s} }, "scanners[0].baud 9601 is not a standard rate"},
		{"scanner parity", func(c *Config) { s := serial; s.Parity = "space"; c.Scanners = []Scanner{s} }, "scanners[0].parity space: use none, odd or even"},
		{"scanner stop bits", func(c *Config) { s := serial; s.StopBits = 3; c.Scanners = []Scanner{s} }, "scanners[0].stop_bits 3: use 1 or 2"},
		{"hid vid", func(c *Config) { c.Scanners = []Scanner{serial, hid} }, "scanners[1].vid missing for kind hid"},
		{"hid pid", func(c *Config) { h := hid; h.VID = 0x0c2e; c.Scanners = []Scanner{serial, h} }, "scanners[1].pid missing for kind hid"},
		{"hid mode", func(c *Config) { h := hid; h.VID, h.PID = 0x0c2e, 0x0b8f; h.Mode = "pos"; c.Scanners = []Scanner{h} }, "scanners[0].mode pos: use keyboard or hidpos"},
		{"hid on device", func(c *Config) {
			h := hid
			h.VID, h.PID = 0x1eab, 0x1a03
			c.Device.Deployment = "on-device"
			c.Scanners = []Scanner{h}
		}, "scanners[0].kind hid with device.deployment on-device: Android owns USB devices"},
		{"vid range", func(c *Config) { h := hid; h.VID = 0x10000; c.Scanners = []Scanner{h} }, "scanners[0].vid 65536 is out of range"},
		{"terminator", func(c *Config) { s := serial; s.Terminator = "\\r"; c.Scanners = []Scanner{s} }, `scanners[0].terminator \r: use auto, cr, lf, crlf, tab or none`},
		{"duplicate names", func(c *Config) { c.Scanners = []Scanner{serial, serial} }, `scanners[1].name "counter" is also the name of scanners[0]`},
		{"printer kind", func(c *Config) { c.Printer.Kind = "netwrk" }, "printer.kind netwrk: use none, serial, usb, network, file or bridge (did you mean network?)"},
		{"printer address", func(c *Config) { c.Printer.Kind = "network"; c.Printer.Address = "printer" }, `printer.address "printer" is not host:port`},
		{"printer device", func(c *Config) { c.Printer.Kind = "usb" }, "printer.device missing for kind usb: use the device file, like /dev/usb/lp0"},
		{"printer path", func(c *Config) { c.Printer.Kind = "file" }, "printer.path missing for kind file"},
		{"printer bridge", func(c *Config) { c.Printer.Kind = "bridge" }, "printer.kind bridge needs the bridge: set bridge.enabled: true"},
		{"paper", func(c *Config) { c.Printer.Paper = "70mm" }, "printer.paper 70mm: use 58mm or 80mm"},
		{"dots", func(c *Config) { c.Printer.Paper = "58mm"; c.Printer.Dots = 576 }, "printer.dots 576 does not fit 58mm paper"},
		{"cut", func(c *Config) { c.Printer.Cut = "half" }, "printer.cut half: use full, partial or none"},
		{"copies", func(c *Config) { c.Printer.Copies = []string{"customer", "shop"} }, "printer.copies[1] shop: use customer or merchant"},
		{"display kind", func(c *Config) { c.Display.Kind = "lcd" }, "display.kind lcd: use web, pole, png or none"},
		{"pole device", func(c *Config) { c.Display.Kind = "pole" }, "display.pole.device missing for display.kind pole"},
		{"pole dialect", func(c *Config) {
			c.Display.Kind = "pole"
			c.Display.Pole.Device = "/dev/ttyUSB1"
			c.Display.Pole.Dialect = "utc"
		}, "display.pole.dialect utc: use epson or cd5220"},
		{"png size", func(c *Config) { c.Display.Kind = "png"; c.Display.PNG.Width = 0 }, "display.png 0x240 is not a usable size"},
		{"language", func(c *Config) { c.Display.Language = "fr" }, "display.language fr: use en, zh or auto"},
		{"receipt language", func(c *Config) { c.Receipt.Language = "cn" }, "receipt.language cn: use en, zh or en+zh"},
		{"pole chinese needs cd5220", func(c *Config) {
			c.Display.Kind, c.Display.Pole.Device, c.Display.Pole.Chinese = "pole", "/dev/ttyUSB1", true
		}, "display.pole.chinese needs display.pole.dialect cd5220"},
		{"render font relative", func(c *Config) { c.Render.Font = "NotoSansCJK-Regular.ttc" }, `render.font "NotoSansCJK-Regular.ttc" is not an absolute path`},
		{"render font not a font", func(c *Config) { c.Render.Font = "/usr/share/fonts/noto.png" }, `render.font "/usr/share/fonts/noto.png" is not a font file (.ttc, .ttf or .otf)`},
		{"time scale", func(c *Config) { c.Agent.TimeScale = 0 }, "agent.time_scale 0: use 1 in production"},
		{"scan window", func(c *Config) { c.Agent.ScanWindow = 0 }, "agent.scan_window 0s must be more than zero"},
		{"poll vs window", func(c *Config) { c.Agent.PollInterval = time.Minute }, "agent.poll_interval 1m0s is not shorter than agent.scan_window 1m0s"},
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, "log.level verbose: use debug, info, warn or error"},
		{"log format", func(c *Config) { c.Log.Format = "jsn" }, "log.format jsn: use text or json (did you mean json?)"},
		{"sim scale", func(c *Config) { c.Sim.TimeScale = -1 }, "sim.time_scale -1"},
		{"bridge token", func(c *Config) {
			c.Bridge.Enabled = true
			c.API.Listen = "0.0.0.0:7420"
			c.API.Token = "0123456789abcdef"
		}, "bridge.enabled needs a token the helper authenticates with: set bridge.token"},
		// config check refuses what run would refuse: bridge.New needs a token on loopback too.
		{"bridge token on loopback", func(c *Config) { c.Bridge.Enabled = true }, "bridge.enabled needs a token"},
		{"on-device without tokens", func(c *Config) { c.Device.Deployment = "on-device" }, "device.deployment on-device needs tokens"},
		{"short role token", func(c *Config) { c.API.Tokens.Manager = "short" }, "api.tokens.manager is too short"},
		{"shared role token", func(c *Config) {
			c.API.Tokens.POS, c.API.Tokens.Manager = "0123456789abcdef0", "0123456789abcdef0"
		}, "api.tokens.manager is the same secret as api.tokens.pos"},
		{"origin with path", func(c *Config) {
			c.API.Tokens.POS = "0123456789abcdef0"
			c.API.AllowedOrigins = []string{"https://pos.example.com/app"}
		}, "api.allowed_origins[0] \"https://pos.example.com/app\" is not a web origin"},
		{"origins without tokens", func(c *Config) { c.API.AllowedOrigins = []string{"https://pos.example.com"} }, "api.allowed_origins lets web pages call the API, which then needs tokens"},
		{"plaintext pin", func(c *Config) {
			c.Operators = []Operator{{ID: "m1", Role: "manager", PINHash: "2468"}}
		}, "operators[0].pin_hash is not a bcrypt or argon2id hash"},
		{"approval without manager", func(c *Config) { c.Refunds.ApprovalAbove = 0 }, "refunds.approval_above 0 needs a manager who can approve"},
		{"tip cap zero", func(c *Config) { c.Tips.MaxPercent = 0 }, "tips.max_percent 0 is not a percentage from 1 to 1000"},
		{"tip cap too high", func(c *Config) { c.Tips.MaxPercent = 1001 }, "tips.max_percent 1001 is not a percentage from 1 to 1000"},
		{"tip suggestion above the cap", func(c *Config) {
			c.Tips.MaxPercent, c.Display.TipChoices = 15, []int{10, 15, 18}
		}, "display.tip_choices: 18 % is above tips.max_percent 15"},
		{"negative per-shift limit", func(c *Config) { c.Refunds.UnapprovedPerShift = -1 }, "refunds.unapproved_per_shift -1: use 0 (no limit) or an amount in cents"},
		{"per-shift limit without manager", func(c *Config) { c.Refunds.UnapprovedPerShift = 5000 }, "refunds.unapproved_per_shift 5000 needs a manager who can approve"},
		{"unknown default operator", func(c *Config) { c.API.DefaultOperator = "c9" }, "api.default_operator \"c9\" is not an operators[].id"},
		{"tls key without cert", func(c *Config) { c.API.TLS.Key = "/etc/posagent/key.pem" }, "api.tls.key is set without api.tls.cert"},
		{"callback url", func(c *Config) { c.Gateway.CallbackURL = "shop.example.com/cb" }, `gateway.callback_url "shop.example.com/cb" is not an absolute URL`},
		{"callback url http in production", func(c *Config) {
			c.Gateway.URL = "https://gateway.example.com/processV2"
			c.Gateway.CallbackURL = "http://shop.example.com/v1/ottpay/callback"
		}, "use https"},
		{"callback url loopback in production", func(c *Config) {
			c.Gateway.URL = "https://gateway.example.com/processV2"
			c.Gateway.CallbackURL = "https://127.0.0.1:7420/v1/ottpay/callback"
		}, "which the gateway cannot reach"},
		{"gateway time zone", func(c *Config) { c.Gateway.TimeZone = "Beijing" }, `gateway.time_zone "Beijing"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base(t)
			tc.change(cfg)
			err := cfg.Validate()
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Validate() = %v, want *Error", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got  %v\nwant %s", err, tc.want)
			}
			if len(cfg.Problems()) != len(e.Problems) {
				t.Fatalf("Problems() and Validate disagree")
			}
		})
	}
}

// TestReceiptLanguageOnAnyPrinter: Chinese receipts no longer need a
// printer with a Chinese font (they are drawn as raster lines).
func TestReceiptLanguageOnAnyPrinter(t *testing.T) {
	for _, l := range []string{"zh", "en+zh"} {
		cfg := base(t)
		cfg.Printer.Kind, cfg.Printer.Path, cfg.Printer.Chinese, cfg.Receipt.Language = "file", "r.bin", false, l
		if err := cfg.Validate(); err != nil {
			t.Errorf("receipt.language %s with printer.chinese false: %v", l, err)
		}
	}
}

func TestValidateReportsEveryProblem(t *testing.T) {
	cfg := base(t)
	cfg.API.Listen = "0.0.0.0:7420"
	cfg.Gateway.MerchantID = "X1"
	cfg.Printer.Paper = "70mm"
	cfg.Scanners = []Scanner{{Name: "a", Kind: "hid", Mode: "keyboard", Terminator: "auto", Interface: -1}}
	err := cfg.Validate().(*Error)
	keys := map[string]bool{}
	for _, p := range err.Problems {
		keys[p.Key] = true
	}
	for _, k := range []string{"api.listen", "gateway.merchant_id", "printer.paper", "scanners[0].vid"} {
		if !keys[k] {
			t.Errorf("no problem for %s in %v", k, err)
		}
	}
	if len(err.Problems) != 5 { // the four above and scanners[0].pid
		t.Errorf("%d problems, want 5: %v", len(err.Problems), err)
	}
	if !strings.HasPrefix(err.Error(), "config: 5 problems:\n  ") {
		t.Errorf("format: %q", err.Error())
	}
}

func TestValidLoopbackForms(t *testing.T) {
	for _, l := range []string{"127.0.0.1:7420", "localhost:7420", "[::1]:7420", "127.0.0.2:80"} {
		if !IsLoopback(l) {
			t.Errorf("IsLoopback(%q) = false", l)
		}
	}
	for _, l := range []string{"0.0.0.0:7420", ":7420", "192.168.1.5:7420", "[::]:7420", "example.com:7420"} {
		if IsLoopback(l) {
			t.Errorf("IsLoopback(%q) = true", l)
		}
	}
	cfg := base(t)
	cfg.Gateway.URL = "http://127.0.0.1:9999/processV2" // a local simulator over http is fine
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkValidate(b *testing.B) {
	cfg, _, err := load("", nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := cfg.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestValidateStaticQR: merchant.static_qr and merchant.payment_links take
// http and https URLs only, link names must not be empty, and
// display.idle_qr needs a static QR; each problem names its key.
func TestValidateStaticQR(t *testing.T) {
	cases := []struct {
		name  string
		set   func(c *Config)
		key   string // "" valid
		words string
	}{
		{"none", func(c *Config) {}, "", ""},
		{"static https", func(c *Config) { c.Merchant.StaticQR = "https://pay.ottpay.com/s/ON00004652" }, "", ""},
		{"static and links", func(c *Config) {
			c.Merchant.StaticQR = "http://pay.ottpay.com/s/1"
			c.Merchant.PaymentLinks = []PaymentLink{{Name: "Gift card $50", URL: "https://pay.ottpay.com/l/9"}}
			c.Display.IdleQR = true
		}, "", ""},
		{"static ftp", func(c *Config) { c.Merchant.StaticQR = "ftp://x.example/y" }, "merchant.static_qr", "not an http or https URL"},
		{"static no scheme", func(c *Config) { c.Merchant.StaticQR = "pay.ottpay.com/s/1" }, "merchant.static_qr", "not an http or https URL"},
		{"static no host", func(c *Config) { c.Merchant.StaticQR = "https:///s/1" }, "merchant.static_qr", "has no host"},
		{"static spaces", func(c *Config) { c.Merchant.StaticQR = " https://a.example/ " }, "merchant.static_qr", "not a URL"},
		{"static too long", func(c *Config) { c.Merchant.StaticQR = "https://a.example/" + strings.Repeat("x", 1100) }, "merchant.static_qr", "too long for a QR"},
		{"link without name", func(c *Config) {
			c.Merchant.PaymentLinks = []PaymentLink{{Name: "ok", URL: "https://a.example/1"}, {Name: "  ", URL: "https://a.example/2"}}
		}, "merchant.payment_links[1].name", "is empty"},
		{"link bad url", func(c *Config) {
			c.Merchant.PaymentLinks = []PaymentLink{{Name: "Tea", URL: "javascript:alert(1)"}}
		}, "merchant.payment_links[0].url", "not an http or https URL"},
		{"link empty url", func(c *Config) {
			c.Merchant.PaymentLinks = []PaymentLink{{Name: "Tea"}}
		}, "merchant.payment_links[0].url", "is empty"},
		{"idle qr without static", func(c *Config) { c.Display.IdleQR = true }, "display.idle_qr", "merchant.static_qr is empty"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base(t)
			tc.set(cfg)
			err := cfg.Validate()
			if tc.key == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			var ce *Error
			if !errors.As(err, &ce) || len(ce.Problems) != 1 {
				t.Fatalf("want one problem at %s, got %v", tc.key, err)
			}
			if p := ce.Problems[0]; p.Key != tc.key || !strings.Contains(p.Msg, tc.words) {
				t.Errorf("problem %s: %q; want %s: ...%s...", p.Key, p.Msg, tc.key, tc.words)
			}
		})
	}
}

// TestLoadPaymentLinks: merchant.payment_links is read from the file, with
// unknown item keys refused; it cannot be set from the environment.
func TestLoadPaymentLinks(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "posagent.yaml")
	yaml := "merchant:\n  static_qr: https://pay.ottpay.com/s/ON00004652\n  payment_links:\n    - name: Gift card $50\n      url: https://pay.ottpay.com/l/1\n    - { name: Tea box, url: \"https://pay.ottpay.com/l/2\" }\ndisplay:\n  idle_qr: true\n"
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, src, err := Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []PaymentLink{{Name: "Gift card $50", URL: "https://pay.ottpay.com/l/1"}, {Name: "Tea box", URL: "https://pay.ottpay.com/l/2"}}
	if !slices.Equal(cfg.Merchant.PaymentLinks, want) || !cfg.Display.IdleQR || cfg.Merchant.StaticQR != "https://pay.ottpay.com/s/ON00004652" {
		t.Errorf("loaded %+v idle_qr %v static %q", cfg.Merchant.PaymentLinks, cfg.Display.IdleQR, cfg.Merchant.StaticQR)
	}
	if s := src.Of("merchant.payment_links[1].url"); s.Kind != FromFile {
		t.Errorf("merchant.payment_links[1].url from %v", s)
	}
	if err := cfg.Validate(); err != nil {
		t.Error(err)
	}

	if err := os.WriteFile(path, []byte("merchant:\n  payment_links:\n    - { name: Tea, link: \"https://a.example\" }\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Load(path, nil); err == nil || !strings.Contains(err.Error(), "merchant.payment_links[0].link") {
		t.Errorf("unknown item key: %v", err)
	}
	_, _, err = Load(os.DevNull, []string{"POSAGENT_MERCHANT_PAYMENT_LINKS=[{name: a, url: \"https://a.example\"}]"})
	if err == nil || !strings.Contains(err.Error(), "read from the file only") {
		t.Errorf("payment links from the environment: %v", err)
	}
}
