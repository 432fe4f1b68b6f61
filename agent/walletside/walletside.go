package walletside

import (
	"time"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/store"
)

// Of reads what an answer says about the wallet's side of a payment (nil
// when it says nothing). The transaction number is bizpay_order_id, else
// transaction_id; the rate is exchange_rate, else rate (x 10^8); a number
// that is not one is read as absent.
func Of(res *gateway.Result) *store.WalletSide {
	if res == nil || res.Fields == nil {
		return nil
	}
	f := res.Fields
	w := &store.WalletSide{BuyerLoginID: f["buyer_login_id"], TradeTime: f["trade_time"],
		TransactionID: f["bizpay_order_id"], Fee: res.Fee, Total: res.Total}
	if w.TransactionID == "" {
		w.TransactionID = f["transaction_id"]
	}
	w.Rate = digits(f["exchange_rate"])
	if w.Rate == 0 {
		w.Rate = digits(f["rate"])
	}
	w.CNYAmount = digits(f["cny_amount"])
	if *w == (store.WalletSide{}) {
		return nil
	}
	return w
}

// digits parses a non-negative integer field ("" or anything else: 0).
func digits(s string) int64 {
	var n int64
	if s == "" || len(s) > 18 {
		return 0
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0
		}
		n = n*10 + int64(s[i]-'0')
	}
	return n
}

// Keep moves the wallet's side carried by the payment's last answer into
// what the payment keeps (it is not kept twice): a later answer adds what
// an earlier one lacked and never erases it. The answer itself is copied,
// not changed, since an earlier snapshot of the payment may share it.
func Keep(p *store.Payment) {
	if p.Answer == nil || p.Answer.Wallet == nil {
		return
	}
	w := p.Answer.Wallet
	a := *p.Answer
	a.Wallet = nil
	p.Answer = &a
	if p.WalletSide == nil {
		p.WalletSide = &store.WalletSide{}
	}
	k := p.WalletSide
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&k.BuyerLoginID, w.BuyerLoginID)
	set(&k.TradeTime, w.TradeTime)
	set(&k.TransactionID, w.TransactionID)
	for _, x := range []struct {
		dst *int64
		v   int64
	}{{&k.Fee, w.Fee}, {&k.Total, w.Total}, {&k.Rate, w.Rate}, {&k.CNYAmount, w.CNYAmount}} {
		if x.v != 0 {
			*x.dst = x.v
		}
	}
}

// tradeTimeLayout is the gateway's trade_time: yyyyMMddHHmmss, no zone.
const tradeTimeLayout = "20060102150405"

// tradeTimeAt reads a wallet trade_time (yyyyMMddHHmmss) in the gateway's
// zone (nil: UTC); ok is false for anything else (the raw text is then
// all there is).
func tradeTimeAt(raw string, gatewayZone *time.Location) (t time.Time, ok bool) {
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

// ReadTradeTime sets w's TradeAt from its trade_time, once (a TradeAt
// already set is kept: the zone may have changed since).
func ReadTradeTime(w *store.WalletSide, gatewayZone *time.Location) {
	if w == nil || w.TradeTime == "" || !w.TradeAt.IsZero() {
		return
	}
	if t, ok := tradeTimeAt(w.TradeTime, gatewayZone); ok {
		w.TradeAt = t
	}
}
