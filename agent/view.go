package agent

import "github.com/posagent/posagent/agent/view"

// View is the engine's read side (agent/view): GET /v1/status, the payment
// lists and exports, the audit trail and the engine's metrics.
func (e *Engine) View() *view.Reader { return e.view }

// Status is View().Status(), kept on the engine for its many readers (the
// daemon's fleet heartbeat and display, the tests).
func (e *Engine) Status() view.Status { return e.view.Status() }

// live is what agent/view reads of the running engine: the state that is
// not in the journal, at one moment.
func (e *Engine) live() view.Live {
	l := view.Live{Version: e.o.Version, StartedAt: e.realOrigin.UTC(), Uptime: e.mono(), Now: e.now(),
		Devices: []DeviceStatus{}, Gateway: e.gw.Status(), Cart: e.intake.CurrentCart(),
		ClockProblem: e.watch.Problem(), ClockJumps: e.watch.Jumps(), LastSeq: e.bus.Last()}
	if e.o.Devices != nil {
		l.Devices = e.o.Devices.List() // sorted by kind and name
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	l.Open, l.StoreErrors, l.Contradicted = len(e.active), e.storeErrs, e.contradicted
	for id, a := range e.active {
		if a.state == InDoubt {
			l.InDoubt = append(l.InDoubt, id)
		}
	}
	return l
}
