package agent

import (
	"time"

	"github.com/posagent/posagent/agent/gwauth"
)

// Gateway credential states (Status.Gateway.Auth): agent/gwauth proves them.
const (
	AuthUnknown = gwauth.Unknown
	AuthOK      = gwauth.OK
	AuthRefused = gwauth.Refused
)

// CredentialsRefused reads, by structure, the error of a harmless request
// (EX_RATE_QUERY) made to test the gateway's credentials
// (gwauth.CredentialsRefused; posagent doctor uses it).
func CredentialsRefused(err error) (refused bool, why string) { return gwauth.CredentialsRefused(err) }

// newAuth is the credential watch over the metered gateway: a change is
// journaled as a gateway.auth event, and credentials accepted again wake
// the outbox.
func (e *Engine) newAuth() *gwauth.Watch {
	return gwauth.New(gwauth.Options{Gateway: e.gw, HasRate: e.gw.HasRate(), Currency: e.o.Currency, Store: e.st,
		Now: e.clock.Now, Mono: e.mono, After: e.clock.After, Recheck: e.o.AuthRecheck, Logger: e.log,
		OnChange: func(refused bool, reason string, at time.Time) {
			e.appendEvent(Event{Kind: KindGatewayAuth, At: at, Reason: reason})
			if !refused {
				e.kickOutbox()
			}
		}})
}
