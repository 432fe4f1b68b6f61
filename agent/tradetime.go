package agent

import (
	"time"

	"github.com/posagent/posagent/store"
)

// tradeTimeLayout is the gateway's trade_time: yyyyMMddHHmmss, no zone.
const tradeTimeLayout = "20060102150405"

// TradeTimeAt reads a wallet trade_time (yyyyMMddHHmmss) in the gateway's
// zone; ok is false for anything else (the raw text is then all there is).
func TradeTimeAt(raw string, gatewayZone *time.Location) (t time.Time, ok bool) {
	if gatewayZone == nil {
		gatewayZone = time.UTC
	}
	if len(raw) != len(tradeTimeLayout) {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(tradeTimeLayout, raw, gatewayZone)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

// readTradeTime sets the wallet side's TradeAt from its trade_time, once.
func (e *Engine) readTradeTime(w *store.WalletSide) {
	if w == nil || w.TradeTime == "" || !w.TradeAt.IsZero() {
		return
	}
	if t, ok := TradeTimeAt(w.TradeTime, e.o.GatewayZone); ok {
		w.TradeAt = t
	}
}
