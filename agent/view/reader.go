package view

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posagent/posagent/agent/gwmeter"
	"github.com/posagent/posagent/agent/route"
	"github.com/posagent/posagent/devices"
	"github.com/posagent/posagent/store"
)

// Live is what the running engine tells the reader at one moment: the
// part of its state that is not in the journal.
type Live struct {
	Version   string
	StartedAt time.Time     // when the engine was made (UTC)
	Uptime    time.Duration // since then, on the monotonic clock
	// Now is the engine's wall clock (UTC): ages are measured from it and
	// clamped at zero (a clock that went back never makes a negative age).
	Now     time.Time
	Devices []devices.Status
	Gateway gwmeter.Status
	Cart    *route.Cart
	// ClockProblem is why the wall clock is not believed ("": it is);
	// ClockJumps counts its jumps against the monotonic clock.
	ClockProblem string
	ClockJumps   int
	Open         int      // payments not final
	InDoubt      []string // the ids of the open payments in doubt, in any order
	StoreErrors  int      // journal errors in background steps since start
	Contradicted int      // resolutions by hand the gateway contradicted since start
	LastSeq      uint64   // the last journal event, as the event bus knows it
}

// Options are a Reader's parts.
type Options struct {
	Store *store.Store
	// Meter is the gateway meter's collector (agent/gwmeter.Meter), given
	// first by Collector.
	Meter prometheus.Collector
	// Live is the engine's state now (agent's Engine gives it).
	Live func() Live
}

// Reader reads the engine's status, lists, exports, audit trail and
// metrics. Its methods are safe for concurrent use.
type Reader struct {
	st    *store.Store
	meter prometheus.Collector
	live  func() Live
}

// New returns the reader of o.Store and the engine o.Live describes.
func New(o Options) *Reader {
	return &Reader{st: o.Store, meter: o.Meter, live: o.Live}
}

// age is how long before now t was, clamped at zero; zero t: zero.
func age(now, t time.Time) time.Duration {
	if t.IsZero() {
		return 0
	}
	return max(0, now.Sub(t))
}
