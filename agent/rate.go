package agent

import (
	"context"
	"encoding/json"
	"time"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/store"
)

// KindRateUpdated: the gateway's exchange rate to CNY was fetched
// (EX_RATE_QUERY); the event keeps it in the journal with its time.
const KindRateUpdated = "rate.updated"

// ExRate is an exchange rate of the merchant's currency to CNY, as the
// gateway gave it, and when.
type ExRate struct {
	Currency string    `json:"currency"`
	Rate     int64     `json:"rate"` // CNY per unit x 10^8
	At       time.Time `json:"at"`
}

// CNY is amount (minor units of the merchant's currency) in fen, at r.
func (r ExRate) CNY(amount int64) int64 {
	// amount * rate / 10^8, rounded half up, without overflow for any
	// amount up to MaxAmount and a rate below 10^11.
	q, m := amount/100_000_000*r.Rate, amount%100_000_000*r.Rate
	return q + (m+50_000_000)/100_000_000
}

// rater is a gateway that answers EX_RATE_QUERY (*gateway.Client).
type rater interface {
	ExchangeRate(ctx context.Context, currency string) (*gateway.Result, error)
}

// rateLoop fetches the rate at start and every RateEvery, and journals
// each one as a rate.updated event. A failed fetch is logged and tried
// again at the next turn; the last rate stays (and ages).
func (e *Engine) rateLoop(ctx context.Context) {
	g, ok := e.o.Gateway.(rater)
	if !ok || e.o.RateEvery <= 0 {
		return
	}
	if r := e.lastJournaledRate(); r != nil {
		e.rate.Store(r)
	}
	for {
		qctx, cancel := context.WithTimeout(ctx, gateway.DefaultTimeout)
		res, err := g.ExchangeRate(qctx, e.o.Currency)
		cancel()
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			e.log.Warn("agent: exchange rate not fetched; the CNY estimate keeps the last one", "err", err)
		default:
			// Journaled first, then used: what is shown is always in the journal.
			r := &ExRate{Currency: e.o.Currency, Rate: res.Rate, At: e.now().UTC()}
			if err := e.appendRateEvent(r); err != nil {
				e.storeError("journal the exchange rate", err)
			}
			e.rate.Store(r)
		}
		select {
		case <-ctx.Done():
			return
		case <-e.clock.After(e.o.RateEvery):
		}
	}
}

// rateLatest names the rate.updated events in the journal's index of
// the newest event of a name (store.Tx.LatestEvent): the start reads the
// last rate in one lookup, whatever the history.
const rateLatest = "rate"

// appendRateEvent journals a rate.updated event as the newest rate.
func (e *Engine) appendRateEvent(r *ExRate) error {
	return e.st.Update(func(tx *store.Tx) error {
		_, err := tx.AppendEventLatest(rateLatest, func(seq uint64) ([]byte, error) {
			return json.Marshal(Event{Seq: seq, Kind: KindRateUpdated, At: r.At, Rate: r})
		})
		return err
	})
}

// lastJournaledRate is the newest rate.updated event (nil: none, or a
// journal written before the index, until the first rate is fetched).
func (e *Engine) lastJournaledRate() *ExRate {
	var found *ExRate
	e.st.View(func(tx *store.Tx) error {
		ev, ok, err := tx.LatestEvent(rateLatest)
		if err != nil || !ok {
			return err
		}
		var x struct {
			Kind string  `json:"kind"`
			Rate *ExRate `json:"rate"`
		}
		if json.Unmarshal(ev.Data, &x) == nil && x.Kind == KindRateUpdated && x.Rate != nil && x.Rate.Rate > 0 {
			found = x.Rate
		}
		return nil
	})
	return found
}

// freshRate is the rate when it is younger than RateMaxAge (nil else).
func (e *Engine) freshRate() *ExRate {
	r := e.rate.Load()
	if r == nil || r.Currency != e.o.Currency || e.ageOf(r.At) > e.o.RateMaxAge {
		return nil
	}
	return r
}

// Rate is the exchange rate to CNY the agent holds, fresh or not (nil:
// none yet).
func (e *Engine) Rate() *ExRate { return e.rate.Load() }
