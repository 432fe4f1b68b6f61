package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeFile writes a config file in a temp dir and returns its path.
func writeFile(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "posagent.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, body string, env ...string) (*Config, Sources) {
	t.Helper()
	cfg, src, err := load(writeFile(t, body), env, nil)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return cfg, src
}

// loadErr loads and returns the problems' text, failing if loading worked.
func loadErr(t *testing.T, body string, env ...string) string {
	t.Helper()
	_, _, err := load(writeFile(t, body), env, nil)
	if err == nil {
		t.Fatalf("load succeeded, want an error")
	}
	return err.Error()
}

func TestDefaultsWithNoFile(t *testing.T) {
	dir := t.TempDir()
	cfg, src, err := load("", nil, []string{filepath.Join(dir, "absent.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	if src.File != "" {
		t.Errorf("File = %q, want none", src.File)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	// The contract's gateway values and the in-process simulator.
	g := cfg.Gateway
	if g.URL != "sim" || g.MerchantID != "ON00004652" || g.SignKey != "6698851A525C9433" || g.OperatorID != "0000000696" || g.TerminalNo != "LANE1" {
		t.Errorf("gateway defaults = %+v", g)
	}
	if cfg.API.Listen != "127.0.0.1:7420" || cfg.Device.Profile != "generic-linux" || cfg.Merchant.Currency != "CAD" {
		t.Errorf("defaults: listen %q profile %q currency %q", cfg.API.Listen, cfg.Device.Profile, cfg.Merchant.Currency)
	}
	if s := src.Of("gateway.url"); s.Kind != FromDefault {
		t.Errorf("source of gateway.url = %v", s)
	}
}

func TestSearchOrder(t *testing.T) {
	dir := t.TempDir()
	first := filepath.Join(dir, "first.yaml")
	second := filepath.Join(dir, "second.yaml")
	os.WriteFile(second, []byte("merchant:\n  name: Second\n"), 0o600)
	cfg, src, err := load("", nil, []string{first, second})
	if err != nil {
		t.Fatal(err)
	}
	if src.File != second || cfg.Merchant.Name != "Second" {
		t.Fatalf("with only the second file: file %q name %q", src.File, cfg.Merchant.Name)
	}
	os.WriteFile(first, []byte("merchant:\n  name: First\n"), 0o600)
	cfg, src, err = load("", nil, []string{first, second})
	if err != nil {
		t.Fatal(err)
	}
	if src.File != first || cfg.Merchant.Name != "First" {
		t.Fatalf("with both: file %q name %q", src.File, cfg.Merchant.Name)
	}
	// An explicit path that does not exist is an error, not a fallback.
	_, _, err = load(filepath.Join(dir, "nope.yaml"), nil, []string{first})
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Fatalf("missing --config: err = %v", err)
	}
}

func TestFileValues(t *testing.T) {
	cfg, src := mustLoad(t, `
merchant:
  name: Maple Tea House
  address: ["12 King St W", "Toronto ON"]
gateway:
  operator_id: 0000000696
  timeout: 15s
store:
  retention: 400d
scanners:
  - name: counter
    kind: serial
    device: /dev/ttyACM0
  - name: handheld
    kind: hid
    vid: 0x0c2e
    pid: 0x0B8F
printer:
  kind: network
  address: 127.0.0.1:9100
  paper: 58mm
`)
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	if cfg.Gateway.OperatorID != "0000000696" {
		t.Errorf("operator_id = %q: unquoted digits must keep their leading zeros", cfg.Gateway.OperatorID)
	}
	if cfg.Gateway.Timeout != 15*time.Second || cfg.Store.Retention != 400*24*time.Hour {
		t.Errorf("timeout %v retention %v", cfg.Gateway.Timeout, cfg.Store.Retention)
	}
	if got := strings.Join(cfg.Merchant.Address, "|"); got != "12 King St W|Toronto ON" {
		t.Errorf("address = %q", got)
	}
	if len(cfg.Scanners) != 2 {
		t.Fatalf("scanners = %+v", cfg.Scanners)
	}
	s0, s1 := cfg.Scanners[0], cfg.Scanners[1]
	if s0.Baud != 9600 || s0.Parity != "none" || s0.StopBits != 1 || s0.Interface != -1 || !s0.StripAIM {
		t.Errorf("scanner item defaults not applied: %+v", s0)
	}
	if s1.VID != 0x0c2e || s1.PID != 0x0b8f {
		t.Errorf("hex ids: vid %#x pid %#x", s1.VID, s1.PID)
	}
	if cfg.Printer.Paper != "58mm" || cfg.Printer.WidthDots() != 384 {
		t.Errorf("paper %q dots %d", cfg.Printer.Paper, cfg.Printer.WidthDots())
	}
	if s := src.Of("printer.paper"); s.Kind != FromFile || s.Name != src.File {
		t.Errorf("source of printer.paper = %v", s)
	}
	if s := src.Of("scanners[0].device"); s.Kind != FromFile {
		t.Errorf("source of scanners[0].device = %v", s)
	}
	if s := src.Of("scanners[0].baud"); s.Kind != FromDefault {
		t.Errorf("source of scanners[0].baud = %v", s)
	}
	if s := src.Of("printer.cut"); s.Kind != FromDefault {
		t.Errorf("source of printer.cut = %v", s)
	}
}

func TestEnvOverrideWins(t *testing.T) {
	cfg, src := mustLoad(t, `
gateway:
  sign_key: AAAAAAAAAAAAAAAA
store:
  path: /from/file.db
scanners:
  - name: counter
    kind: serial
    device: /dev/ttyACM0
`,
		"POSAGENT_GATEWAY_SIGN_KEY=BBBBBBBBBBBBBBBB",
		"POSAGENT_STORE_PATH=/from/env.db",
		"POSAGENT_API_TOKEN=0123456789abcdef0123",
		"POSAGENT_PRINTER_DOTS=512",
		"POSAGENT_SCANNERS_0_DEVICE=/dev/ttyUSB3",
		"POSAGENT_MERCHANT_FOOTER=line one\nline two",
		"POSAGENT_AGENT_TIME_SCALE=0.05",
		"PATH=/usr/bin",
	)
	if cfg.Gateway.SignKey != "BBBBBBBBBBBBBBBB" || cfg.Store.Path != "/from/env.db" || cfg.API.Token != "0123456789abcdef0123" {
		t.Errorf("env did not win: %q %q", cfg.Store.Path, cfg.API.Token)
	}
	if cfg.Printer.Dots != 512 || cfg.Scanners[0].Device != "/dev/ttyUSB3" || cfg.Agent.TimeScale != 0.05 {
		t.Errorf("dots %d device %q scale %v", cfg.Printer.Dots, cfg.Scanners[0].Device, cfg.Agent.TimeScale)
	}
	if strings.Join(cfg.Merchant.Footer, "|") != "line one|line two" {
		t.Errorf("footer = %q", cfg.Merchant.Footer)
	}
	for key, want := range map[string]string{
		"gateway.sign_key":   "env POSAGENT_GATEWAY_SIGN_KEY",
		"store.path":         "env POSAGENT_STORE_PATH",
		"scanners[0].device": "env POSAGENT_SCANNERS_0_DEVICE",
		"scanners[0].name":   "file " + src.File,
	} {
		if got := src.Of(key).String(); got != want {
			t.Errorf("source of %s = %q, want %q", key, got, want)
		}
	}
	if len(src.Warnings) != 0 {
		t.Errorf("warnings: %v", src.Warnings)
	}
}

func TestEnvScannersList(t *testing.T) {
	cfg, src := mustLoad(t, "", `POSAGENT_SCANNERS=[{name: a, kind: hid, vid: 0x1eab, pid: 0x1a03}]`)
	if len(cfg.Scanners) != 1 || cfg.Scanners[0].VID != 0x1eab || cfg.Scanners[0].Mode != "keyboard" {
		t.Fatalf("scanners = %+v", cfg.Scanners)
	}
	if got := src.Of("scanners[0].vid").String(); got != "env POSAGENT_SCANNERS" {
		t.Errorf("source = %q", got)
	}
}

func TestEnvProblems(t *testing.T) {
	msg := loadErr(t, "", "POSAGENT_PRINTER_BAUD=fast", "POSAGENT_GATEWAY_TIMEOUT=20", "POSAGENT_SCANNERS_2_BAUD=9600")
	for _, want := range []string{
		`POSAGENT_PRINTER_BAUD: printer.baud "fast" is not a whole number`,
		`POSAGENT_GATEWAY_TIMEOUT: gateway.timeout "20" has no unit: write 20s`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	// An index past the list is named once the other problems are fixed.
	msg = loadErr(t, "", "POSAGENT_SCANNERS_2_BAUD=9600")
	if !strings.Contains(msg, "POSAGENT_SCANNERS_2_BAUD sets scanners[2].baud but there are only 0 scanners") {
		t.Errorf("index error: %s", msg)
	}
}

func TestUnknownEnvIsAWarning(t *testing.T) {
	_, src := mustLoad(t, "", "POSAGENT_GATEWAY_SIGNKEY=x")
	if len(src.Warnings) != 1 || !strings.Contains(src.Warnings[0], "POSAGENT_GATEWAY_SIGNKEY names no key (did you mean POSAGENT_GATEWAY_SIGN_KEY?)") {
		t.Fatalf("warnings = %q", src.Warnings)
	}
	if strings.Contains(src.Warnings[0], "=x") {
		t.Fatalf("warning repeats the value")
	}
}

func TestUnknownKeys(t *testing.T) {
	cases := []struct{ body, want string }{
		{"printer:\n  papr: 80mm\n", "line 2: unknown key printer.papr (did you mean printer.paper?)"},
		{"printr:\n  paper: 80mm\n", "line 1: unknown key printr (did you mean printer?)"},
		{"display:\n  pole:\n    dialekt: epson\n", "line 3: unknown key display.pole.dialekt (did you mean display.pole.dialect?)"},
		{"scanners:\n  - name: a\n    kind: hid\n    vidd: 0x0c2e\n", "line 4: unknown key scanners[0].vidd (did you mean scanners[0].vid?)"},
		{"paper: 80mm\n", "unknown key paper (did you mean printer.paper?)"},
		{"gateway:\n  zzzzzzzz: 1\n", "unknown key gateway.zzzzzzzz: remove it (known keys here: gateway.url, "},
	}
	for _, c := range cases {
		if msg := loadErr(t, c.body); !strings.Contains(msg, c.want) {
			t.Errorf("%q:\n got %s\nwant %s", c.body, msg, c.want)
		}
	}
}

func TestEveryProblemAtOnce(t *testing.T) {
	msg := loadErr(t, "printer:\n  papr: 80mm\n  baud: fast\ndisplay:\n  hold: 5\n")
	for _, want := range []string{"3 problems", "line 2: unknown key printer.papr", `line 3: printer.baud "fast" is not a whole number`, `line 5: display.hold "5" has no unit`} {
		if !strings.Contains(msg, want) {
			t.Errorf("lacks %q:\n%s", want, msg)
		}
	}
}

func TestMalformedYAML(t *testing.T) {
	msg := loadErr(t, "merchant:\n  name: a\n  currency: [CAD\nprinter:\n  paper: 80mm\n")
	if !strings.Contains(msg, "malformed YAML") || !strings.Contains(msg, "line ") {
		t.Fatalf("no line number: %s", msg)
	}
	var e *Error
	_, _, err := load(writeFile(t, "a: b: c\n"), nil, nil)
	if !errors.As(err, &e) || !strings.Contains(e.Problems[0].Msg, "line 1") {
		t.Fatalf("err = %v", err)
	}
}

func TestWrongTypes(t *testing.T) {
	cases := []struct{ body, want string }{
		{"printer:\n  baud: fast\n", `printer.baud "fast" is not a whole number`},
		{"printer:\n  native_qr: maybe\n", `printer.native_qr "maybe" is not true or false`},
		{"agent:\n  time_scale: quick\n", `agent.time_scale "quick" is not a number`},
		{"gateway:\n  timeout: soon\n", `gateway.timeout "soon" is not a duration`},
		{"printer: 80mm\n", "printer must be a mapping of keys"},
		{"printer:\n  paper: [80mm]\n", "printer.paper must be a string, not a list"},
		{"scanners:\n  name: a\n", "scanners must be a list"},
		{"scanners:\n  - counter\n", "scanners[0] must be a mapping"},
		{"merchant:\n  address: {a: b}\n", "merchant.address must be a list of strings, not a mapping"},
		{"- a\n- b\n", "the file must be a mapping of keys"},
	}
	for _, c := range cases {
		if msg := loadErr(t, c.body); !strings.Contains(msg, c.want) {
			t.Errorf("%q:\n got %s\nwant %s", c.body, msg, c.want)
		}
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	const secret = "S3cretS3cretS3cr"
	bodies := []string{
		"gateway:\n  sign_key: [" + secret + "]\n",
		"api:\n  token: {" + secret + ": 1}\n",
		"gateway:\n  sign_key: " + secret + "x\n  url: https://frontapi.ottpay.com/processV2\n",
		"gateway:\n  sign_key: " + secret + "\n  sign_kye: " + secret + "\n",
	}
	for _, b := range bodies {
		_, _, err := load(writeFile(t, b), []string{"POSAGENT_API_TOKEN=" + secret[:10]}, nil)
		if err == nil {
			cfg, _ := mustLoad(t, b, "POSAGENT_API_TOKEN="+secret[:10])
			err = cfg.Validate()
		}
		if err == nil {
			t.Fatalf("%q: no error", b)
		}
		if strings.Contains(err.Error(), secret[:10]) {
			t.Errorf("secret in error: %v", err)
		}
	}
}

func TestUnknownProfile(t *testing.T) {
	msg := loadErr(t, "device:\n  profile: sunmi-t3\n")
	if !strings.Contains(msg, `device.profile "sunmi-t3" is not a known profile (did you mean sunmi-t2?)`) {
		t.Fatal(msg)
	}
}

func TestAnchorsAndMergeKeys(t *testing.T) {
	cfg, _ := mustLoad(t, `
scanners:
  - &base {name: a, kind: serial, device: /dev/ttyACM0, baud: 115200}
  - <<: *base
    name: b
    device: /dev/ttyACM1
`)
	if len(cfg.Scanners) != 2 || cfg.Scanners[1].Baud != 115200 || cfg.Scanners[1].Device != "/dev/ttyACM1" {
		t.Fatalf("scanners = %+v", cfg.Scanners)
	}
}

func TestLoadReturnsTheRestWithProblems(t *testing.T) {
	cfg, _, err := load(writeFile(t, "printer:\n  papr: 58mm\n  kind: network\n  address: 127.0.0.1:9\n"), nil, nil)
	var e *Error
	if !errors.As(err, &e) || len(e.Problems) != 1 {
		t.Fatalf("err = %v", err)
	}
	if cfg == nil || cfg.Printer.Kind != "network" || cfg.Printer.Address != "127.0.0.1:9" {
		t.Fatalf("the valid keys were not loaded: %+v", cfg)
	}
	cfg, _, err = load(writeFile(t, "a: [\n"), nil, nil)
	if err == nil || cfg != nil {
		t.Fatalf("malformed YAML: cfg %v err %v", cfg, err)
	}
}
