package daemon

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/config"
)

// TestAPIAddress: the socket first, else api.listen (loopback for every
// interface), over TLS with the certificate's fingerprint; a certificate
// that cannot be read is a clear error.
func TestAPIAddress(t *testing.T) {
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "api.crt"), filepath.Join(dir, "api.key")
	c, err := api.LoadOrCreateCert(cert, key, []string{"127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	fp := api.Fingerprint(c.Certificate[0])
	cfg := func(f func(*config.Config)) *config.Config {
		var c config.Config
		c.API.Listen = "127.0.0.1:7420"
		f(&c)
		return &c
	}
	for _, tc := range []struct {
		name    string
		cfg     *config.Config
		url, fp string
	}{
		{"socket", cfg(func(c *config.Config) { c.API.Socket = "/run/posagent/api.sock"; c.API.TLS.Cert = cert }), "unix:///run/posagent/api.sock", ""},
		{"plain", cfg(func(*config.Config) {}), "http://127.0.0.1:7420", ""},
		{"tls", cfg(func(c *config.Config) { c.API.TLS.Cert = cert }), "https://127.0.0.1:7420", fp},
		{"tls every interface", cfg(func(c *config.Config) { c.API.Listen = "0.0.0.0:7443"; c.API.TLS.Cert = cert }), "https://127.0.0.1:7443", fp},
	} {
		url, gotFP, err := APIAddress(tc.cfg)
		if err != nil || url != tc.url || gotFP != tc.fp {
			t.Errorf("%s: %q %q %v, want %q %q", tc.name, url, gotFP, err, tc.url, tc.fp)
		}
	}
	_, _, err = APIAddress(cfg(func(c *config.Config) { c.API.TLS.Cert = filepath.Join(dir, "none.crt") }))
	if err == nil || !strings.Contains(err.Error(), "the CLI pins the API's certificate") {
		t.Errorf("unreadable certificate: %v", err)
	}
}

func TestCLIToken(t *testing.T) {
	var c config.Config
	if CLIToken(&c) != "" {
		t.Error("a token with none configured")
	}
	c.API.Token = "shared"
	if CLIToken(&c) != "shared" {
		t.Error("api.token not used")
	}
	c.API.Tokens.POS = "pos"
	if CLIToken(&c) != "pos" {
		t.Error("the pos token does not come before api.token")
	}
	c.API.Tokens.Manager = "manager"
	if CLIToken(&c) != "manager" {
		t.Error("the manager's token does not come first")
	}
}
