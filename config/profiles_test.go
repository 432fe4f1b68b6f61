package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posagent/posagent/config/profile"
)

func problemKeys(c *Config) string {
	var keys []string
	for _, p := range c.Problems() {
		keys = append(keys, p.Key)
	}
	return strings.Join(keys, ", ")
}

// TestProfiles loads every profile with nothing else set, validates it,
// checks that its values and sources arrived, and that an explicit key in
// the file overrides one of them.
func TestProfiles(t *testing.T) {
	if len(profile.All()) != 8 {
		t.Fatalf("%d profiles, want 8", len(profile.All()))
	}
	for _, p := range profile.All() {
		t.Run(p.Name, func(t *testing.T) {
			cfg, src := mustLoad(t, "device:\n  profile: "+p.Name+"\n")
			if p.Values["device.deployment"] == "on-device" {
				// On the terminal every app reaches loopback: the POS and the
				// bridge helper need their tokens (and nothing else does).
				want := "api.tokens.pos"
				if cfg.Bridge.Enabled || cfg.Printer.Kind == "bridge" {
					want += ", bridge.token"
				}
				if got := problemKeys(cfg); got != want {
					t.Fatalf("on-device profile without tokens: problems %s, want %s", got, want)
				}
				cfg.API.Tokens.POS, cfg.Bridge.Token = "pos-token-0123456789", "bridge-token-0123456789"
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("profile defaults do not validate: %v", err)
			}
			if src.Profile != p.Name {
				t.Errorf("Sources.Profile = %q", src.Profile)
			}
			settings := map[string]string{}
			for _, s := range cfg.Settings() {
				settings[s.Key] = s.Value
			}
			for key, val := range p.Values {
				if got, want := settings[key], formatValue(key, val); got != want {
					t.Errorf("%s = %s, want the profile's %s", key, got, want)
				}
				if got := src.Of(key).String(); got != "profile "+p.Name {
					t.Errorf("source of %s = %q", key, got)
				}
			}
			if len(cfg.Scanners) != len(p.Scanners) {
				t.Fatalf("%d scanners, profile has %d", len(cfg.Scanners), len(p.Scanners))
			}
			for i, s := range p.Scanners {
				if cfg.Scanners[i].Name != s["name"] {
					t.Errorf("scanner %d = %q", i, cfg.Scanners[i].Name)
				}
			}

			// An explicit key overrides the profile; the rest stays.
			override := "58mm"
			if cfg.Printer.Paper == "58mm" {
				override = "80mm"
			}
			cfg2, src2 := mustLoad(t, "device:\n  profile: "+p.Name+"\nprinter:\n  paper: "+override+"\n  dots: 0\n",
				"POSAGENT_API_TOKENS_POS=pos-token-0123456789", "POSAGENT_BRIDGE_TOKEN=bridge-token-0123456789")
			if cfg2.Printer.Paper != override || src2.Of("printer.paper").Kind != FromFile {
				t.Errorf("override: paper %q from %v", cfg2.Printer.Paper, src2.Of("printer.paper"))
			}
			if cfg2.Printer.Kind != cfg.Printer.Kind || cfg2.Display.Kind != cfg.Display.Kind {
				t.Errorf("override changed other profile values")
			}
			if err := cfg2.Validate(); err != nil {
				t.Errorf("override does not validate: %v", err)
			}
			// The environment chooses the profile too, and beats the file.
			cfg3, _ := mustLoad(t, "device:\n  profile: generic-linux\n", "POSAGENT_DEVICE_PROFILE="+p.Name)
			if cfg3.Printer.Paper != cfg.Printer.Paper || cfg3.Device.Profile != p.Name {
				t.Errorf("profile from env: %q %q", cfg3.Device.Profile, cfg3.Printer.Paper)
			}
		})
	}
}

func TestProfileFacts(t *testing.T) {
	load := func(name string) *Config {
		cfg, _ := mustLoad(t, "device:\n  profile: "+name+"\n")
		return cfg
	}
	t2 := load("sunmi-t2")
	if t2.Printer.FeedCut || !t2.Printer.Chinese || t2.Display.Kind != "web" || t2.Device.Deployment != "on-device" {
		t.Errorf("sunmi-t2: %+v", t2.Printer)
	}
	if s := t2.Scanners[0]; s.VID != 0x1EAB || s.PID != 0x1A03 || s.Mode != "keyboard" {
		t.Errorf("sunmi-t2 NS021 scanner: %+v", s)
	}
	mini := load("sunmi-t1mini")
	if mini.Display.Kind != "png" || mini.Display.PNG.Width != 128 || mini.Display.PNG.Height != 40 {
		t.Errorf("sunmi-t1mini display: %+v", mini.Display)
	}
	cs := load("clover-station")
	if cs.Printer.Kind != "bridge" || !cs.Printer.Image || cs.Printer.WidthDots() != 576 || cs.Printer.NativeQR {
		t.Errorf("clover-station printer: %+v", cs.Printer)
	}
	if v2 := load("sunmi-v2pro"); v2.Printer.WidthDots() != 384 || v2.Printer.Cut != "none" {
		t.Errorf("sunmi-v2pro printer: %+v", v2.Printer)
	}
}

// TestExampleFile: the embedded example loads and validates as written,
// mentions every key, and its values equal the defaults (so the comments
// do not lie).
func TestExampleFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "posagent.yaml")
	if err := os.WriteFile(p, Example(), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, src, err := load(p, nil, nil)
	if err != nil {
		t.Fatalf("example does not load: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("example does not validate: %v", err)
	}
	def := base(t)
	a, b := cfg.Settings(), def.Settings()
	if len(a) != len(b) {
		t.Fatalf("example has %d settings, defaults %d", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("example %s = %s, default %s", a[i].Key, a[i].Value, b[i].Value)
		}
	}
	if src.Of("merchant.name").Kind != FromFile {
		t.Errorf("merchant.name should come from the example file")
	}
	text := string(Example())
	for _, k := range Keys() {
		name := k[strings.LastIndexAny(k, ".]")+1:]
		if !strings.Contains(text, " "+name+":") && !strings.Contains(text, "\n"+name+":") && !strings.Contains(text, "#"+name+":") {
			t.Errorf("example does not explain %s", k)
		}
	}
	for _, p := range profile.Names() {
		if !strings.Contains(text, p) {
			t.Errorf("example does not name profile %s", p)
		}
	}
	// Uncommenting the commented scanner examples gives valid scanners.
	var un bytes.Buffer
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "#  ") || strings.HasPrefix(line, "# scanners:") {
			line = strings.TrimPrefix(line, "#")
			if strings.HasPrefix(line, " scanners:") {
				line = "scanners:"
			}
		}
		un.WriteString(line + "\n")
	}
	os.WriteFile(p, un.Bytes(), 0o600)
	cfg, _, err = load(p, nil, nil)
	if err != nil {
		t.Fatalf("uncommented scanners: %v", err)
	}
	if len(cfg.Scanners) != 2 || cfg.Scanners[1].VID != 0x0c2e {
		t.Fatalf("uncommented scanners = %+v", cfg.Scanners)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("uncommented scanners do not validate: %v", err)
	}
}

func TestShowRedactsSecrets(t *testing.T) {
	const sign, tok, btok = "Q1W2E3R4T5Y6U7I8", "tok-0123456789abcdef", "brg-0123456789abcdef"
	cfg, src := mustLoad(t, "gateway:\n  sign_key: "+sign+"\nbridge:\n  token: "+btok+"\n", "POSAGENT_API_TOKEN="+tok)
	var out bytes.Buffer
	if err := Show(&out, cfg, src); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, secret := range []string{sign, tok, btok} {
		if strings.Contains(s, secret) {
			t.Errorf("show prints a secret:\n%s", s)
		}
	}
	lines := showLines(s)
	for key, want := range map[string]string{
		"gateway.sign_key": "******** # file " + src.File,
		"api.token":        "******** # env POSAGENT_API_TOKEN",
		"bridge.token":     "******** # file " + src.File,
		"printer.paper":    "80mm # default",
		"device.profile":   "generic-linux # default",
	} {
		if lines[key] != want {
			t.Errorf("show %s = %q, want %q", key, lines[key], want)
		}
	}
	if !strings.Contains(s, "# file: "+src.File) {
		t.Errorf("show does not name the file:\n%s", s)
	}
}

// showLines maps each key of Show's output to its value and source,
// spaces collapsed.
func showLines(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		key, rest, ok := strings.Cut(line, ":")
		if !ok || strings.HasPrefix(key, "#") {
			continue
		}
		out[key] = strings.Join(strings.Fields(rest), " ")
	}
	return out
}

func TestShowProfileSources(t *testing.T) {
	cfg, src := mustLoad(t, "device:\n  profile: sunmi-t2\n")
	var out bytes.Buffer
	Show(&out, cfg, src)
	for _, want := range []string{"# profile sunmi-t2", "scanners[0].vid:", "0x1eab", "# profile: sunmi-t2"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("lacks %q:\n%s", want, out.String())
		}
	}
}

// FuzzLoad: any file content gives a config or an *Error, never a panic,
// and a loaded config can always be validated and shown.
func FuzzLoad(f *testing.F) {
	f.Add(Example())
	f.Add([]byte("printer:\n  papr: 80mm\n"))
	f.Add([]byte("scanners:\n  - &a {name: x, kind: hid, vid: 0x1}\n  - <<: *a\n"))
	f.Add([]byte("a: b: c"))
	f.Add([]byte("gateway: {timeout: 1d, operator_id: 0123}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, src, err := loadData("f.yaml", data, nil)
		if err != nil {
			return
		}
		_ = cfg.Validate()
		var out bytes.Buffer
		if err := Show(&out, cfg, src); err != nil {
			t.Fatal(err)
		}
	})
}

func BenchmarkLoadExample(b *testing.B) {
	p := filepath.Join(b.TempDir(), "posagent.yaml")
	os.WriteFile(p, Example(), 0o600)
	for b.Loop() {
		if _, _, err := load(p, nil, nil); err != nil {
			b.Fatal(err)
		}
	}
}
