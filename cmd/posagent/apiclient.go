package main

import (
	"os"

	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/daemon"
)

// newAPIClient is the client every client command (pay, cancel, refund,
// ...) uses, so the CLI calls the same API, through the same package, as a
// Go POS does. The address is --api, else $POSAGENT_API, else the
// config's (its Unix socket, or api.listen with its TLS certificate
// pinned); the token is --token, else $POSAGENT_API_TOKEN, else the
// config's (daemon.CLIToken).
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
				if o.URL, o.Fingerprint, err = daemon.APIAddress(cfg); err != nil {
					return nil, err
				}
			}
			if o.Token == "" {
				o.Token = daemon.CLIToken(cfg)
			}
		}
	}
	return client.New(o)
}
