package daemon

import (
	"fmt"
	"net"
	"strings"

	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/config"
)

// APIAddress is where a client on this machine reaches the API that cfg
// configures: its Unix socket when there is one, else api.listen
// (loopback when it listens on every interface), over TLS with the
// certificate's fingerprint, to pin, read from its file.
func APIAddress(cfg *config.Config) (url, fingerprint string, err error) {
	if cfg.API.Socket != "" {
		return "unix://" + cfg.API.Socket, "", nil
	}
	if cfg.API.TLS.Cert == "" {
		return "http://" + cfg.API.Listen, "", nil
	}
	fp, err := APIFingerprint(cfg)
	if err != nil {
		return "", "", fmt.Errorf("api: %w (the CLI pins the API's certificate: run it as a user who can read it, or use api.socket)", err)
	}
	host := cfg.API.Listen
	if strings.HasPrefix(host, "0.0.0.0:") || strings.HasPrefix(host, "[::]:") || strings.HasPrefix(host, ":") {
		_, port, _ := net.SplitHostPort(host)
		host = "127.0.0.1:" + port
	}
	return "https://" + host, fp, nil
}

// CLIToken is the token the CLI sends: the manager's (it refunds, exports
// and reads the audit trail), else the pos one, else api.token.
func CLIToken(cfg *config.Config) string {
	for _, t := range []string{cfg.API.Tokens.Manager, cfg.API.Tokens.POS, cfg.API.Token} {
		if t != "" {
			return t
		}
	}
	return ""
}

// APIFingerprint is the SHA-256 fingerprint of the API's certificate as
// the config places it ("" without TLS): what the CLI pins and doctor
// prints.
func APIFingerprint(cfg *config.Config) (string, error) {
	if cfg.API.TLS.Cert == "" {
		return "", nil
	}
	p := cfg.API.TLS.Cert
	if cfg.API.TLSAuto() {
		p, _ = api.AutoCertPaths(cfg.Store.Path)
	}
	return api.CertFileFingerprint(p)
}
