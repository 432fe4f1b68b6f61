package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/config"
)

// apiTransport is how the CLI reaches the daemon the config describes: its
// Unix socket when there is one, else TCP, with the api.tls certificate
// pinned (read from its file).
func apiTransport(cfg *config.Config) (base string, rt http.RoundTripper, err error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if cfg.API.Socket != "" {
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", cfg.API.Socket)
		}
		return "http://localhost", tr, nil
	}
	if cfg.API.TLS.Cert == "" {
		return "http://" + cfg.API.Listen, tr, nil
	}
	certPath := cfg.API.TLS.Cert
	if cfg.API.TLSAuto() {
		certPath, _ = api.AutoCertPaths(cfg.Store.Path)
	}
	fp, err := api.CertFileFingerprint(certPath)
	if err != nil {
		return "", nil, fmt.Errorf("api: %w (the CLI pins the API's certificate: run it as a user who can read it, or use api.socket)", err)
	}
	tr.TLSClientConfig = api.PinnedTLS(fp)
	host := cfg.API.Listen
	if strings.HasPrefix(host, "0.0.0.0:") || strings.HasPrefix(host, "[::]:") || strings.HasPrefix(host, ":") {
		_, port, _ := net.SplitHostPort(host)
		host = "127.0.0.1:" + port
	}
	return "https://" + host, tr, nil
}

// cliToken is the token the CLI sends: the manager's (it refunds, exports
// and reads the audit trail), else the pos one, else api.token.
func cliToken(cfg *config.Config) string {
	for _, t := range []string{cfg.API.Tokens.Manager, cfg.API.Tokens.POS, cfg.API.Token} {
		if t != "" {
			return t
		}
	}
	return ""
}
