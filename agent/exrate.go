package agent

import (
	"github.com/posagent/posagent/agent/rate"
)

// ExRate is an exchange rate of the merchant's currency to CNY
// (agent/rate keeps it: Engine.Rate).
type ExRate = rate.ExRate

// KindRateUpdated: the gateway's exchange rate to CNY was fetched.
const KindRateUpdated = rate.KindUpdated

// freshRate is the rate when it is younger than RateMaxAge (nil else).
func (e *Engine) freshRate() *ExRate {
	r := e.rates.Latest()
	if r == nil || r.Currency != e.o.Currency || e.ageOf(r.At) > e.o.RateMaxAge {
		return nil
	}
	return r
}

// Rate is the exchange rate to CNY the agent holds, fresh or not (nil:
// none yet).
func (e *Engine) Rate() *ExRate { return e.rates.Latest() }
