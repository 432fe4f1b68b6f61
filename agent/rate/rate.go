package rate

import (
	"context"
	"encoding/json"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/store"
)

// KindUpdated: the gateway's exchange rate to CNY was fetched
// (EX_RATE_QUERY); the event keeps it in the journal with its time.
const KindUpdated = "rate.updated"

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

// Fetcher is a gateway that answers EX_RATE_QUERY (*gateway.Client).
type Fetcher interface {
	ExchangeRate(ctx context.Context, currency string) (*gateway.Result, error)
}

// Options configure a Keeper.
type Options struct {
	Store    *store.Store // required: the journal
	Gateway  Fetcher      // nil: the rate is never fetched
	Currency string       // the merchant account's (ISO 4217)
	// Every is how often the rate is fetched (0: never).
	Every time.Duration
	Now   func() time.Time                     // the wall clock
	After func(time.Duration) <-chan time.Time // waits
	// StoreError is told of a journal error (nil: logged only).
	StoreError func(op string, err error)
	Logger     *slog.Logger // nil: discard
}

// Keeper fetches, journals and holds the exchange rate. Create with New,
// then Run.
type Keeper struct {
	o      Options
	latest atomic.Pointer[ExRate]
}

// New returns a Keeper; nothing is fetched until Run.
func New(o Options) *Keeper {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.StoreError == nil {
		o.StoreError = func(op string, err error) { o.Logger.Error("agent: journal: "+op, "err", err) }
	}
	return &Keeper{o: o}
}

// Latest is the rate held, fresh or not (nil: none yet).
func (k *Keeper) Latest() *ExRate { return k.latest.Load() }

// Run takes the last journaled rate, then fetches one at once and every
// Options.Every until ctx ends (nothing when there is no gateway or no
// interval). Cancellation is not an error.
func (k *Keeper) Run(ctx context.Context) error {
	if k.o.Gateway == nil || k.o.Every <= 0 {
		return nil
	}
	if r := k.Journaled(); r != nil {
		k.latest.Store(r)
	}
	for {
		qctx, cancel := context.WithTimeout(ctx, gateway.DefaultTimeout)
		res, err := k.o.Gateway.ExchangeRate(qctx, k.o.Currency)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			k.o.Logger.Warn("agent: exchange rate not fetched; the CNY estimate keeps the last one", "err", err)
		default:
			// Journaled first, then used: what is shown is always in the journal.
			r := &ExRate{Currency: k.o.Currency, Rate: res.Rate, At: k.o.Now().UTC()}
			if err := k.journal(r); err != nil {
				k.o.StoreError("journal the exchange rate", err)
			}
			k.latest.Store(r)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-k.o.After(k.o.Every):
		}
	}
}

// latestName names the rate.updated events in the journal's index of the
// newest event of a name (store.Tx.LatestEvent): the start reads the last
// rate in one lookup, whatever the history.
const latestName = "rate"

// event is a rate.updated event as journaled (the fields of agent.Event it
// uses, in its order).
type event struct {
	Seq  uint64    `json:"seq"`
	Kind string    `json:"kind"`
	At   time.Time `json:"at"`
	Rate *ExRate   `json:"rate,omitempty"`
}

// journal appends a rate.updated event as the newest rate.
func (k *Keeper) journal(r *ExRate) error {
	return k.o.Store.Update(func(tx *store.Tx) error {
		_, err := tx.AppendEventLatest(latestName, func(seq uint64) ([]byte, error) {
			return json.Marshal(event{Seq: seq, Kind: KindUpdated, At: r.At, Rate: r})
		})
		return err
	})
}

// Journaled is the rate of the newest rate.updated event (nil: none, or a
// journal written before the index, until the first rate is fetched).
func (k *Keeper) Journaled() *ExRate {
	var found *ExRate
	k.o.Store.View(func(tx *store.Tx) error {
		ev, ok, err := tx.LatestEvent(latestName)
		if err != nil || !ok {
			return err
		}
		var x event
		if json.Unmarshal(ev.Data, &x) == nil && x.Kind == KindUpdated && x.Rate != nil && x.Rate.Rate > 0 {
			found = x.Rate
		}
		return nil
	})
	return found
}
