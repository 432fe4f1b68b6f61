package walletside

import (
	"testing"
	"time"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/store"
)

func TestOf(t *testing.T) {
	for _, tt := range []struct {
		name string
		res  *gateway.Result
		want *store.WalletSide
	}{
		{"no answer", nil, nil},
		{"no data", &gateway.Result{Fee: 5}, nil},
		{"nothing of the wallet", &gateway.Result{Fields: map[string]string{"rsp_code": "00"}}, nil},
		{"everything",
			&gateway.Result{Fee: 30, Total: 1530, Fields: map[string]string{"buyer_login_id": "o_9***x", "trade_time": "20261207141617",
				"bizpay_order_id": "4200001", "transaction_id": "other", "exchange_rate": "512345678", "rate": "1", "cny_amount": "7687"}},
			&store.WalletSide{BuyerLoginID: "o_9***x", TradeTime: "20261207141617", TransactionID: "4200001", Fee: 30, Total: 1530, Rate: 512345678, CNYAmount: 7687}},
		{"fallbacks: transaction_id, rate",
			&gateway.Result{Fields: map[string]string{"transaction_id": "T1", "rate": "500000000"}},
			&store.WalletSide{TransactionID: "T1", Rate: 500000000}},
		{"numbers that are not: absent",
			&gateway.Result{Fields: map[string]string{"exchange_rate": "5.12", "cny_amount": "-3", "rate": "1234567890123456789"}},
			nil},
		{"the total alone", &gateway.Result{Total: 1000, Fields: map[string]string{}}, &store.WalletSide{Total: 1000}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := Of(tt.res)
			if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
				t.Errorf("Of = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestKeep: a later answer adds what an earlier one lacked and never
// erases it; the answer the payment keeps no longer carries the side, and
// the answer it had (which a snapshot may share) is not changed.
func TestKeep(t *testing.T) {
	p := &store.Payment{}
	Keep(p) // no answer: nothing
	if p.WalletSide != nil {
		t.Fatalf("no answer gave a wallet side %+v", p.WalletSide)
	}
	first := &store.Answer{Wallet: &store.WalletSide{BuyerLoginID: "b1", TradeTime: "20261207141617", Fee: 30}}
	p.Answer = first
	Keep(p)
	if first.Wallet == nil {
		t.Fatal("Keep changed the answer it was given (a snapshot may share it)")
	}
	if p.Answer.Wallet != nil {
		t.Error("the kept answer still carries the wallet side: kept twice")
	}
	p.Answer = &store.Answer{Wallet: &store.WalletSide{TransactionID: "T9", Total: 1530, BuyerLoginID: "", Fee: 0}}
	Keep(p)
	want := store.WalletSide{BuyerLoginID: "b1", TradeTime: "20261207141617", TransactionID: "T9", Fee: 30, Total: 1530}
	if *p.WalletSide != want {
		t.Errorf("kept %+v, want %+v", *p.WalletSide, want)
	}
	p.Answer = &store.Answer{Wallet: &store.WalletSide{BuyerLoginID: "b2", Rate: 7, CNYAmount: 8}}
	Keep(p)
	want.BuyerLoginID, want.Rate, want.CNYAmount = "b2", 7, 8
	if *p.WalletSide != want {
		t.Errorf("kept %+v, want %+v", *p.WalletSide, want)
	}
}

// TestTradeTimeAt: the gateway's yyyyMMddHHmmss is read in its zone;
// anything else is not a time.
func TestTradeTimeAt(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		raw  string
		zone *time.Location
		want time.Time
		ok   bool
	}{
		{"20261207061617", nil, time.Date(2026, 12, 7, 6, 16, 17, 0, time.UTC), true},
		{"20261207141617", sh, time.Date(2026, 12, 7, 6, 16, 17, 0, time.UTC), true},
		{"2026-12-07 06:16:17", nil, time.Time{}, false},
		{"20261307061617", nil, time.Time{}, false},
		{"2026120706161", nil, time.Time{}, false},
		{"", nil, time.Time{}, false},
	} {
		got, ok := tradeTimeAt(tt.raw, tt.zone)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("tradeTimeAt(%q, %v) = %v %v, want %v %v", tt.raw, tt.zone, got, ok, tt.want, tt.ok)
		}
	}
}

// TestReadTradeTime: TradeAt is read once; one already set is kept.
func TestReadTradeTime(t *testing.T) {
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	ReadTradeTime(nil, sh) // nothing to read: no panic
	w := &store.WalletSide{TradeTime: "20261207141617"}
	ReadTradeTime(w, sh)
	if want := time.Date(2026, 12, 7, 6, 16, 17, 0, time.UTC); !w.TradeAt.Equal(want) {
		t.Fatalf("TradeAt %v, want %v", w.TradeAt, want)
	}
	ReadTradeTime(w, time.UTC) // set already: the zone changing later does not move it
	if want := time.Date(2026, 12, 7, 6, 16, 17, 0, time.UTC); !w.TradeAt.Equal(want) {
		t.Errorf("TradeAt read again: %v", w.TradeAt)
	}
	bad := &store.WalletSide{TradeTime: "yesterday"}
	ReadTradeTime(bad, sh)
	if !bad.TradeAt.IsZero() {
		t.Errorf("TradeAt of %q: %v", bad.TradeTime, bad.TradeAt)
	}
}

// FuzzOf: any fields read into a side without a panic, and no number read
// is negative.
func FuzzOf(f *testing.F) {
	f.Add("o_9***x", "20261207141617", "4200001", "512345678", "7687")
	f.Add("", "", "", "-1", "99999999999999999999")
	f.Fuzz(func(t *testing.T, buyer, tt, txn, rate, cny string) {
		w := Of(&gateway.Result{Fields: map[string]string{"buyer_login_id": buyer, "trade_time": tt, "bizpay_order_id": txn, "exchange_rate": rate, "cny_amount": cny}})
		if w != nil && (w.Rate < 0 || w.CNYAmount < 0) {
			t.Fatalf("negative number read: %+v", w)
		}
	})
}
