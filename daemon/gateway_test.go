package daemon

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/posagent/posagent/config"
)

// TestCallbackURLAndZone: gateway.callback_url is the call_back_url sent
// when set (else the local API's address), and gateway.time_zone the zone
// trade_time is read in.
func TestCallbackURLAndZone(t *testing.T) {
	load := func(extra string) *config.Config {
		t.Helper()
		path := filepath.Join(t.TempDir(), "posagent.yaml")
		body := "device:\n  profile: generic-linux\nstore:\n  path: " + t.TempDir() + "/posagent.db\n" + extra
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, _, err := config.Load(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	cfg := load("")
	if got := callbackURL(cfg); got != "http://"+cfg.API.Listen+"/v1/ottpay/callback" {
		t.Errorf("default call_back_url %q", got)
	}
	if z := gatewayZone(cfg); z.String() != "UTC" {
		t.Errorf("default gateway zone %v", z)
	}
	cfg = load("gateway:\n  callback_url: https://shop.example.com/v1/ottpay/callback\n  time_zone: Asia/Shanghai\n")
	if got := callbackURL(cfg); got != "https://shop.example.com/v1/ottpay/callback" {
		t.Errorf("call_back_url %q, want gateway.callback_url", got)
	}
	if z := gatewayZone(cfg); z.String() != "Asia/Shanghai" {
		t.Errorf("gateway zone %v", z)
	}
}
