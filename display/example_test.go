package display_test

import (
	"fmt"
	"time"

	"github.com/posagent/posagent/display"
	"github.com/posagent/posagent/money"
)

func ExampleScreenFor() {
	now := time.Date(2026, 11, 25, 18, 30, 0, 0, time.UTC)
	p := display.Payment{ID: "pay_1", Mode: "qr", Wallet: "wechat", Amount: 1250, Currency: "CAD",
		State: "processing", CodeURL: "https://example/qr/1", QRExpiresAt: now.Add(5 * time.Minute)}
	s := display.ScreenFor(p, now)
	fmt.Println(s.Kind, money.Amount(s.Amount).Format(s.Currency), s.CodeURL)
	p.State = "succeeded"
	fmt.Println(display.ScreenFor(p, now).Kind)
	// Output:
	// qr 12.50 https://example/qr/1
	// paid
}
