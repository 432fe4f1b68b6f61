package client_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/posagent/posagent/client"
)

// exampleDaemon starts the stack for the examples: the agent with its API
// on loopback and the OTTPay simulator. A POS has posagent run instead.
func exampleDaemon() (url string, stop func()) {
	dir, err := os.MkdirTemp("", "posagent-example")
	if err != nil {
		panic(err)
	}
	d, err := newDaemon(dir, stack{}, slog.New(slog.DiscardHandler))
	if err != nil {
		panic(err)
	}
	return d.url, func() {
		if err := d.stop(); err != nil {
			panic(err)
		}
		os.RemoveAll(dir)
	}
}

// A POS takes a scan payment for sale INV-1001, gives the customer's code
// (scanned by its own scanner), follows the payment on the event stream
// until it is final, and refunds part of it.
func Example() {
	url, stop := exampleDaemon()
	defer stop()
	ctx := context.Background()

	c, err := client.New(client.Options{URL: url}) // Token: the pos role's, when set
	if err != nil {
		panic(err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		panic(err)
	}
	p, err := c.CreatePayment(ctx, client.PaymentRequest{Amount: 1250, Mode: "scan", Reference: "INV-1001"}, "INV-1001-pay")
	if err != nil {
		panic(err)
	}
	fmt.Println("created:", p.State)
	if _, err := c.GiveCode(ctx, p.ID, "134567890123456789", "INV-1001-code"); err != nil {
		panic(err)
	}
	for ev, err := range c.Events(ctx, st.Journal.LastSeq) {
		if err != nil {
			fmt.Println("stream broke, resuming:", err)
			continue
		}
		if ev.Kind == client.KindPaymentUpdated && ev.Payment.ID == p.ID && ev.Payment.Final() {
			p = ev.Payment
			break
		}
	}
	fmt.Printf("%s: %d cents with %s\n", p.State, p.Total, p.Wallet)

	p, err = c.Refund(ctx, p.ID, client.RefundRequest{Amount: 250})
	if err != nil {
		panic(err)
	}
	fmt.Println("refund asked:", p.Refunds[0].Amount)
	_, err = c.Refund(ctx, p.ID, client.RefundRequest{Amount: 5000})
	if client.IsCode(err, "amount_too_large") {
		fmt.Println("refused:", err.(*client.Error).StatusCode)
	}
	// Output:
	// created: awaiting_code
	// succeeded: 1250 cents with wechat
	// refund asked: 250
	// refused: 422
}
