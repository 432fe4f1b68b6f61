package main

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/config"
)

// newAPIClient is the client every client command (pay, cancel, refund,
// ...) uses, so the CLI calls the same API, through the same package, as a
// Go POS does. The address is --api, else $POSAGENT_API, else the
// config's (its Unix socket, or api.listen with its TLS certificate
// pinned); the token is --token, else $POSAGENT_API_TOKEN, else the
// config's (cliToken).
func newAPIClient(g *globalFlags) (*client.Client, error) {
	o := client.Options{URL: g.apiURL, Token: g.token, KeyPrefix: "cli-"}
	if o.URL == "" {
		o.URL = os.Getenv("POSAGENT_API")
	}
	if o.Token == "" {
		o.Token = os.Getenv("POSAGENT_API_TOKEN")
	}
	if o.URL == "" || o.Token == "" {
		if cfg, _, err := config.Load(g.configPath, os.Environ()); err == nil {
			if o.URL == "" {
				if o.URL, o.Fingerprint, err = apiAddress(cfg); err != nil {
					return nil, err
				}
			}
			if o.Token == "" {
				o.Token = cliToken(cfg)
			}
		}
	}
	return client.New(o)
}

// apiAddress is where the config says the daemon's API is: its Unix socket
// when there is one, else api.listen (loopback when it listens on every
// interface), over TLS with the certificate's fingerprint read from its
// file.
func apiAddress(cfg *config.Config) (url, fingerprint string, err error) {
	if cfg.API.Socket != "" {
		return "unix://" + cfg.API.Socket, "", nil
	}
	if cfg.API.TLS.Cert == "" {
		return "http://" + cfg.API.Listen, "", nil
	}
	fp, err := fingerprintOf(cfg)
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

// fingerprintOf is the SHA-256 fingerprint of the API's certificate as the
// config places it ("" without TLS).
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
