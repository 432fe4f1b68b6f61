package config

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCheckBundle(t *testing.T) {
	cases := []struct {
		name, yaml    string
		keys, secrets []string
		problem       string
	}{
		{"plain", "display:\n  tip_choices: [10, 15]\nmerchant:\n  footer: [Thanks]\n", []string{"display.tip_choices", "merchant.footer"}, nil, ""},
		{"a secret", "gateway:\n  sign_key: abc\n", []string{"gateway.sign_key"}, []string{"gateway.sign_key"}, "gateway.sign_key is a secret"},
		{"a secret in a list item", "operators:\n  - id: ann\n    pin_hash: $2a$10$x\n", nil, []string{"operators[0].pin_hash"}, "operators[0].pin_hash is a secret"},
		{"a token", "api:\n  tokens:\n    pos: abc\n", nil, []string{"api.tokens.pos"}, "api.tokens.pos is a secret"},
		{"a duplicate key", "display:\n  tip_choices: [10]\n  tip_choices: [12]\n", nil, nil, "display.tip_choices is written twice, on line 2 and line 3"},
		{"an unknown key", "display:\n  tip_choice: [10]\n", nil, nil, "unknown key display.tip_choice"},
		{"the lane's identity", "gateway:\n  terminal_no: T9\n", nil, nil, "gateway.terminal_no is set only in the lane's own file"},
		{"the fleet's trust", "fleet:\n  public_key: x\n", nil, nil, "fleet.public_key is set only in the lane's own file"},
		{"the journal", "store:\n  path: /tmp/x.db\n", nil, nil, "store.path is set only in the lane's own file"},
		{"not YAML", "display: [\n", nil, nil, "malformed YAML"},
	}
	for _, c := range cases {
		bc := CheckBundle([]byte(c.yaml))
		if c.keys != nil && !slices.Equal(bc.Keys, c.keys) {
			t.Errorf("%s: keys %v, want %v", c.name, bc.Keys, c.keys)
		}
		if !slices.Equal(bc.Secrets, c.secrets) {
			t.Errorf("%s: secrets %v, want %v", c.name, bc.Secrets, c.secrets)
		}
		var msgs []string
		for _, p := range bc.Problems {
			msgs = append(msgs, p.String())
		}
		all := strings.Join(msgs, "; ")
		if (c.problem == "") != (len(bc.Problems) == 0) || !strings.Contains(all, c.problem) {
			t.Errorf("%s: problems %q, want one with %q", c.name, all, c.problem)
		}
	}
}

func TestMergeLayers(t *testing.T) {
	local := "merchant:\n  name: Maple\n  footer: [local]\ndisplay:\n  tip_choices: [10, 15]\n  language: zh\nprinter:\n  kind: none\n  paper: 58mm\n"
	storeB := Layer{Name: "store", YAML: []byte("merchant:\n  footer: [store]\ndisplay:\n  tip_choices: [12]\nprinter:\n  paper: 80mm\n")}
	laneB := Layer{Name: "lane", YAML: []byte("display:\n  tip_choices: [5, 7]\n")}
	cases := []struct {
		name      string
		overrides []string
		footer    []string
		tips      []int
		paper     string
	}{
		{"bundles win", nil, []string{"store"}, []int{5, 7}, "80mm"},
		{"a key kept local", []string{"display.tip_choices"}, []string{"store"}, []int{10, 15}, "80mm"},
		{"a section kept local", []string{"printer", "merchant."}, []string{"local"}, []int{5, 7}, "58mm"},
	}
	for _, c := range cases {
		file := local
		if c.overrides != nil {
			file += "fleet:\n  local_overrides: [" + strings.Join(c.overrides, ", ") + "]\n"
		}
		cfg, _, err := CheckLayered("posagent.yaml", []byte(file), nil, []Layer{storeB, laneB})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !slices.Equal(cfg.Merchant.Footer, c.footer) || !slices.Equal(cfg.Display.TipChoices, c.tips) || cfg.Printer.Paper != c.paper {
			t.Errorf("%s: footer %v tips %v paper %s", c.name, cfg.Merchant.Footer, cfg.Display.TipChoices, cfg.Printer.Paper)
		}
		// Keys no layer sets are the local file's.
		if cfg.Merchant.Name != "Maple" || cfg.Display.Language != "zh" {
			t.Errorf("%s: local keys lost: %q %q", c.name, cfg.Merchant.Name, cfg.Display.Language)
		}
	}
	// The rules between keys are checked on the result.
	bad := Layer{Name: "store", YAML: []byte("display:\n  tip_choices: [40]\n")}
	if _, _, err := CheckLayered("posagent.yaml", []byte(local), nil, []Layer{bad}); err == nil || !strings.Contains(err.Error(), "above tips.max_percent") {
		t.Fatalf("a suggestion above the maximum: %v", err)
	}
}

func TestFleetKeys(t *testing.T) {
	ok := func(c *Config) {
		c.Fleet.Enabled = true
		c.Fleet.PublicKey = "ed25519:" + strings.Repeat("A", 43) + "="
		c.Merchant.ID, c.Merchant.Store, c.Gateway.TerminalNo = "maple", "s01", "L1"
		c.Feed.URL = []string{"nats://leaf:4222"}
	}
	cfg, _, err := loadData("", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Fleet.Enabled || cfg.Fleet.HeartbeatEvery.String() != "30s" || len(cfg.Fleet.LocalOverrides) != 0 {
		t.Fatalf("fleet defaults: %+v", cfg.Fleet)
	}
	ok(cfg)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("a complete fleet section: %v", err)
	}
	for _, c := range []struct {
		name string
		set  func(*Config)
		want string
	}{
		{"no key", func(c *Config) { c.Fleet.PublicKey = "" }, "fleet.enabled needs fleet.public_key"},
		{"a bad key", func(c *Config) { c.Fleet.PublicKey = "ed25519:abc" }, "fleet.enabled needs fleet.public_key"},
		{"no lane", func(c *Config) { c.Gateway.TerminalNo = "" }, "fleet.enabled needs gateway.terminal_no"},
		{"no server", func(c *Config) { c.Feed.URL = nil }, "fleet.enabled needs fleet.url (or feed.url"},
		{"a bad server", func(c *Config) { c.Fleet.URL = []string{"http://hq"} }, `fleet.url "http://hq" is not a NATS server URL`},
		{"a bad window", func(c *Config) { c.Fleet.MaintenanceWindow = "2am-4am" }, "fleet.maintenance_window"},
		{"an empty window", func(c *Config) { c.Fleet.MaintenanceWindow = "02:00-02:00" }, "is empty"},
		{"an unknown override", func(c *Config) { c.Fleet.LocalOverrides = []string{"display.tips"} }, `fleet.local_overrides "display.tips" is not a configuration key`},
		{"a heartbeat too fast", func(c *Config) { c.Fleet.HeartbeatEvery = 1 }, "fleet.heartbeat_every"},
	} {
		cfg, _, _ := loadData("", nil, nil)
		ok(cfg)
		c.set(cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

func TestWindow(t *testing.T) {
	w, ok, err := ParseWindow("23:30-01:00")
	if err != nil || !ok {
		t.Fatal(err)
	}
	for _, c := range []struct {
		h, m int
		in   bool
	}{{23, 29, false}, {23, 30, true}, {0, 59, true}, {1, 0, false}, {12, 0, false}} {
		if got := w.Contains(time.Date(2026, 12, 7, c.h, c.m, 0, 0, time.UTC)); got != c.in {
			t.Errorf("%02d:%02d in %v: %v", c.h, c.m, w, got)
		}
	}
	if _, ok, err := ParseWindow(""); ok || err != nil {
		t.Fatalf("no window: %v %v", ok, err)
	}
}
