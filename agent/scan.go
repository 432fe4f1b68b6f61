package agent

import (
	"context"
	"errors"
	"sort"
	"strings"

	"github.com/posagent/posagent/scanner"
)

// HandleScan routes one scan (a hardware scanner, a bridge, POST /v1/scans):
//
//   - the same code again within DedupWindow is the same scan: ignored;
//   - a code that is not a payment code -> a scan.barcode event for the
//     POS; it never reaches the gateway;
//   - a payment code goes to the oldest scan payment in awaiting_code;
//   - with none waiting, ScanAutoStart and an amount due set by the POS
//     (PUT /v1/cart), it starts a scan payment for that amount;
//   - otherwise a scan.ignored event (code masked): nothing is charged.
func (e *Engine) HandleScan(ctx context.Context, s scanner.Scan) error {
	code := strings.TrimSpace(s.Code)
	if code == "" {
		return errf(400, "invalid_code", "empty scan")
	}
	now := e.now()
	if s.At.IsZero() {
		s.At = now
	}
	e.mu.Lock()
	if last, ok := e.dedup[code]; ok && s.At.Sub(last) < e.o.DedupWindow && s.At.Sub(last) >= 0 {
		e.mu.Unlock()
		e.log.Debug("agent: duplicate scan suppressed", "code", scanner.MaskCode(code), "device", s.Device)
		return nil
	}
	e.dedup[code] = s.At
	if len(e.dedup) > 256 {
		for k, t := range e.dedup {
			if s.At.Sub(t) > e.o.DedupWindow {
				delete(e.dedup, k)
			}
		}
	}
	if d, ok := e.devices["scanner/"+s.Device]; ok {
		d.LastScanAt = s.At
		e.devices["scanner/"+s.Device] = d
	}
	e.mu.Unlock()

	if _, ok := scanner.Classify(code); !ok {
		return e.appendEvent(Event{Kind: KindScanBarcode, At: now, Scan: &ScanInfo{Code: code, Symbology: s.Symbology, Device: s.Device}})
	}
	masked := &ScanInfo{Code: scanner.MaskCode(code), Symbology: s.Symbology, Device: s.Device}
	for _, id := range e.awaitingCode() {
		_, err := e.giveCode(ctx, id, code, IdemKey{}, false) // a scanner never waits for the gateway
		var oe *opError
		if errors.As(err, &oe) && oe.Status == 422 {
			continue // it stopped waiting meanwhile; try the next
		}
		return err
	}
	e.mu.Lock()
	cart := e.cart
	auto := e.o.ScanAutoStart && cart != nil && cart.Amount > 0
	if auto {
		e.cart = nil
	}
	e.mu.Unlock()
	if auto {
		_, _, err := e.createPayment(ctx, CreateRequest{Amount: cart.Amount, Currency: cart.Currency, Mode: "scan",
			Reference: cart.Reference, AuthCode: code}, IdemKey{}, false)
		if err != nil {
			e.mu.Lock()
			if e.cart == nil {
				e.cart = cart // keep the amount due for the next attempt
			}
			e.mu.Unlock()
			return err
		}
		return e.appendEvent(Event{Kind: KindCartUpdated, At: e.now(), Cart: &Cart{Currency: e.o.Currency}})
	}
	return e.appendEvent(Event{Kind: KindScanIgnored, At: now, Scan: masked, Reason: "no payment is waiting for a code"})
}

// awaitingCode lists scan payments in awaiting_code, oldest first.
func (e *Engine) awaitingCode() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	type kv struct {
		id string
		a  activeInfo
	}
	var out []kv
	for id, a := range e.active {
		if a.state == AwaitingCode {
			out = append(out, kv{id, a})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id }) // ids are time-ordered
	ids := make([]string, len(out))
	for i, x := range out {
		ids[i] = x.id
	}
	return ids
}

// SetCart sets the amount due shown on the display (PUT /v1/cart).
func (e *Engine) SetCart(c Cart) (*Cart, error) {
	if c.Amount <= 0 {
		return nil, errf(400, "invalid_amount", "amount must be a positive integer number of cents, got %d", c.Amount)
	}
	if c.Currency == "" {
		c.Currency = e.o.Currency
	}
	if c.Currency != e.o.Currency {
		return nil, errf(400, "currency_mismatch", "currency %q does not match the merchant account's %s", c.Currency, e.o.Currency)
	}
	if len(c.Reference) > 64 {
		return nil, errf(400, "invalid_reference", "reference is %d characters long; at most 64", len(c.Reference))
	}
	e.mu.Lock()
	cp := c
	e.cart = &cp
	e.mu.Unlock()
	return &c, e.appendEvent(Event{Kind: KindCartUpdated, At: e.now(), Cart: &c})
}

// ClearCart clears the amount due (DELETE /v1/cart).
func (e *Engine) ClearCart() error {
	e.mu.Lock()
	e.cart = nil
	e.mu.Unlock()
	return e.appendEvent(Event{Kind: KindCartUpdated, At: e.now(), Cart: &Cart{Currency: e.o.Currency}})
}

// CurrentCart returns the amount due, or nil.
func (e *Engine) CurrentCart() *Cart {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cart == nil {
		return nil
	}
	c := *e.cart
	return &c
}

// SetDevice records a device's status and emits device.changed when it
// differs from what was known.
func (e *Engine) SetDevice(d DeviceStatus) {
	key := d.Kind + "/" + d.Name
	e.mu.Lock()
	old, ok := e.devices[key]
	if d.LastScanAt.IsZero() {
		d.LastScanAt = old.LastScanAt
	}
	same := ok && old == d
	e.devices[key] = d
	e.mu.Unlock()
	if same {
		return
	}
	if err := e.appendEvent(Event{Kind: KindDeviceChanged, At: e.now(), Device: &d}); err != nil {
		e.log.Error("agent: device event", "err", err)
	}
}

// Devices lists the registry, sorted by kind and name.
func (e *Engine) Devices() []DeviceStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]DeviceStatus, 0, len(e.devices))
	for _, d := range e.devices {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind+out[i].Name < out[j].Kind+out[j].Name })
	return out
}
