package agent

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/posagent/posagent/agent/route"
	"github.com/posagent/posagent/store"
)

// Scan is one code as the engine takes it, whatever read it: a hardware
// scanner (the caller converts a scanner.Scan, which has the same fields),
// the Android bridge, POST /v1/scans (route.Scan).
type Scan = route.Scan

// ScanInfo is a scan in an event (masked when it is a payment code).
type ScanInfo = route.ScanInfo

// newIntake is the engine's route.Intake: where a scan goes, the cart and
// its tips, over the payments through intakeEngine.
func (e *Engine) newIntake() *route.Intake {
	var scanned func(string, time.Time)
	if e.o.Devices != nil {
		scanned = e.o.Devices.Scanned
	}
	return route.NewIntake(route.IntakeOptions{Engine: intakeEngine{e}, Currency: e.o.Currency, MaxAmount: MaxAmount,
		AutoStart: e.o.ScanAutoStart, DedupWindow: e.o.DedupWindow, CartTimeout: e.o.CartTimeout, AwaitCodeTimeout: e.o.AwaitCodeTimeout,
		Tips:           route.Tips{MaxPercent: e.o.TipMaxPercent, Choices: e.o.TipChoices, MaxTotal: MaxAmount},
		CheckReference: checkReference, Now: e.now, Mono: e.mono, After: e.clock.After, Scanned: scanned,
		StoreError: e.storeError, Step: e.o.ScanStep, Logger: e.log})
}

// intakeEngine is the engine as route.Intake reaches it.
type intakeEngine struct{ e *Engine }

func (a intakeEngine) AwaitingCode() []string { return a.e.awaitingCode() }

func (a intakeEngine) GiveCode(ctx context.Context, id, code string) error {
	_, err := a.e.giveCode(ctx, id, code, IdemKey{}, false)
	return err
}

func (a intakeEngine) StartPayment(ctx context.Context, c *Cart, code string) (string, error) {
	p, _, err := a.e.createPayment(ctx, CreateRequest{Amount: c.Amount, Currency: c.Currency, Mode: "scan",
		Reference: c.Reference, AuthCode: code, Tip: c.Tip, TipApprover: c.TipApprover}, IdemKey{}, false)
	if err != nil {
		return "", err
	}
	return p.ID, nil
}

func (a intakeEngine) Journal(ev route.Event) error {
	out := Event{Kind: ev.Kind, At: ev.At, Scan: ev.Scan, Cart: ev.Cart, Reason: ev.Reason}
	if ev.Error != nil {
		out.Error = &store.Error{Code: string(ev.Error.Code), Message: ev.Error.Message}
	}
	return a.e.appendEvent(out)
}

func (a intakeEngine) AuditStart(id string, c *Cart, s *ScanInfo) error {
	return a.e.RecordAudit(Audit{Action: "payment.create", Method: "SCAN", Path: "scanner " + s.Device, Credential: "scanner",
		Approver: c.TipApprover, Client: "scanner " + s.Device, Payment: id, Amount: c.Amount, Tip: c.Tip, Status: 201, Result: "ok",
		Detail: "started from the amount due by payment code " + s.Code})
}

// Intake is where a scan goes, applied: HandleScan, the cart (SetCart,
// ClearCart, CurrentCart), its tip prompt's answer (ChooseTip) and the tip
// suggestions (SetTipChoices). It reaches the payments through the engine.
func (e *Engine) Intake() *route.Intake { return e.intake }

// tipRules are the lane's tip rules now (route.Tips), with the suggestions
// SetTipChoices last set (none on an engine New did not make).
func (e *Engine) tipRules() route.Tips {
	if e.intake == nil {
		return route.Tips{}
	}
	return e.intake.Tips()
}

// awaitingCode lists the scan payments waiting for a code whose wait has
// not timed out, oldest first. Timed-out ones are cancelled (no_code).
// Never call it inside a store transaction: it may write.
func (e *Engine) awaitingCode() []string {
	ids, stale := e.waiters()
	for _, id := range stale {
		e.expireAwaiting(id)
	}
	return ids
}

// waiters lists the payments in awaiting_code: those still inside their
// wait, and those past it (stale), each oldest first. It only reads.
func (e *Engine) waiters() (ids, stale []string) {
	e.mu.Lock()
	mono := e.mono()
	for id, a := range e.active {
		if a.state != AwaitingCode {
			continue
		}
		if since, ok := e.awaitMono[id]; ok && mono-since >= e.o.AwaitCodeTimeout {
			stale = append(stale, id)
			continue
		}
		ids = append(ids, id)
	}
	e.mu.Unlock()
	sort.Strings(ids) // ids are time-ordered
	sort.Strings(stale)
	return ids, stale
}

// expireAwaiting cancels a payment that waited too long for its code.
func (e *Engine) expireAwaiting(id string) {
	_, err := e.mutate(id, func(tx *store.Tx, p *store.Payment) error {
		if p.State != AwaitingCode {
			return errNoChange
		}
		p.State = Cancelled
		p.Error = &store.Error{Code: "no_code", Message: fmt.Sprintf("no payment code arrived within %s; nothing was charged", e.o.AwaitCodeTimeout)}
		return nil
	})
	if err != nil && !errors.Is(err, errNoChange) {
		e.storeError("expire awaiting payment", err)
		return
	}
	if err == nil {
		e.log.Info("agent: payment waited too long for its code; cancelled", "id", id, "timeout", e.o.AwaitCodeTimeout)
	}
}
