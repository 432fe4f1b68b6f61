package config

import (
	"errors"
	"strings"
	"testing"
)

func feedOn(c *Config) {
	c.Feed.Enabled = true
	c.Feed.URL = []string{"nats://127.0.0.1:4222"}
	c.Merchant.ID, c.Merchant.Store = "maple", "s012"
}

func TestFeedValidate(t *testing.T) {
	if cfg := base(t); cfg.Feed.Enabled || cfg.Feed.Stream != "POSAGENT" || cfg.Feed.Window != 64 {
		t.Fatalf("feed defaults: %+v", cfg.Feed)
	}
	ok := base(t)
	feedOn(ok)
	if err := ok.Validate(); err != nil {
		t.Fatalf("a complete feed section: %v", err)
	}
	cases := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no url", func(c *Config) { c.Feed.URL = nil }, "feed.enabled needs feed.url"},
		{"http url", func(c *Config) { c.Feed.URL = []string{"http://hq:4222"} }, `feed.url "http://hq:4222" is not a NATS server URL`},
		{"no host", func(c *Config) { c.Feed.URL = []string{"nats://"} }, "is not a NATS server URL"},
		{"no merchant id", func(c *Config) { c.Merchant.ID = "" }, "feed.enabled needs merchant.id"},
		{"no store", func(c *Config) { c.Merchant.Store = "" }, "feed.enabled needs merchant.store"},
		{"dotted store", func(c *Config) { c.Merchant.Store = "s.1" }, `merchant.store "s.1": use 1-64 letters`},
		{"wildcard merchant", func(c *Config) { c.Merchant.ID = "*" }, `merchant.id "*": use 1-64 letters`},
		{"lane with dot", func(c *Config) { c.Gateway.TerminalNo = "L.1" }, `gateway.terminal_no "L.1" names the lane`},
		{"stream", func(c *Config) { c.Feed.Stream = "POS AGENT" }, `feed.stream "POS AGENT" is not a stream name`},
		{"two credentials", func(c *Config) { c.Feed.Creds = "/etc/posagent/lane.creds"; c.Feed.User = "lane1" }, "give one kind of credential"},
		{"password alone", func(c *Config) { c.Feed.Password = "0123456789abcdef" }, "feed.password needs feed.user"},
		{"bad seed", func(c *Config) { c.Feed.NkeySeed = "SAAB" }, "feed.nkey_seed is not a user nkey seed"},
		{"window", func(c *Config) { c.Feed.Window = 0 }, "feed.window 0: use between 1 and 4096"},
		{"ack timeout", func(c *Config) { c.Feed.AckTimeout = 0 }, "feed.ack_timeout 0s must be more than zero"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := base(t)
			feedOn(cfg)
			tc.change(cfg)
			err := cfg.Validate()
			var e *Error
			if !errors.As(err, &e) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got  %v\nwant %s", err, tc.want)
			}
		})
	}
	// A bad merchant.id is reported with the feed off too: it is a subject token.
	off := base(t)
	off.Merchant.ID = "a b"
	if err := off.Validate(); err == nil || !strings.Contains(err.Error(), "merchant.id") {
		t.Fatalf("feed off, merchant.id %q: %v", off.Merchant.ID, err)
	}
}

// The feed's secrets come from the environment and never show.
func TestFeedSecretsFromEnv(t *testing.T) {
	const pw, seed = "Pa55w0rdPa55w0rd", "SUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4"
	cfg, _, err := load("", []string{"POSAGENT_FEED_PASSWORD=" + pw, "POSAGENT_FEED_NKEY_SEED=" + seed, "POSAGENT_FEED_USER=lane1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Feed.Password != pw || cfg.Feed.NkeySeed != seed || cfg.Feed.User != "lane1" {
		t.Fatalf("feed from env: %+v", cfg.Feed)
	}
	var b strings.Builder
	if err := Show(&b, cfg, Sources{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), pw) || strings.Contains(b.String(), seed) {
		t.Fatalf("a feed secret in config show:\n%s", b.String())
	}
	if !strings.Contains(b.String(), "feed.user") {
		t.Fatalf("config show lists no feed keys:\n%s", b.String())
	}
}
