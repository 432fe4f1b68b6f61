package ottsim_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/ottsim"
)

// A scan payment and a partial refund against the simulator on loopback,
// then its ledger.
func Example() {
	sim := ottsim.New(ottsim.Options{MerchantID: "ON00004652", SignKey: "6698851A525C9433", TimeScale: 0.01})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sim.Run(ctx, l) }()
	defer func() { stop(); <-done }()

	hc := &http.Client{Transport: &http.Transport{}}
	defer hc.CloseIdleConnections()
	c, err := gateway.New(gateway.Config{
		URL:        "http://" + l.Addr().String() + "/processV2",
		MerchantID: "ON00004652", SignKey: "6698851A525C9433", OperatorID: "0000000696",
		HTTPClient: hc,
	})
	if err != nil {
		panic(err)
	}
	res, err := c.PassivePay(ctx, gateway.PayRequest{OrderID: "A1", Amount: 1250, AuthCode: "134567890123456789", Wallet: gateway.WeChat})
	fmt.Println(res.Code, res.OrderStatus, err)

	_, err = c.PassivePay(ctx, gateway.PayRequest{OrderID: "A2", Amount: 1201, AuthCode: "134567890123450002", Wallet: gateway.WeChat})
	var ge *gateway.Error
	if errors.As(err, &ge) {
		fmt.Println(ge.Code, ge.Outcome)
	}
	_, err = c.Refund(ctx, gateway.RefundRequest{OrderID: "A1R1", OriginalOrderID: "A1", Amount: 250})
	fmt.Println("refund:", gateway.OutcomeOf(err))

	for _, o := range sim.Ledger() {
		fmt.Println(o.OrderID, o.Status, o.Charged, o.Refunded)
	}
	// Output:
	// SUCCESS success <nil>
	// FAIL failed
	// refund: paid
	// A1 partial_refunded 1250 250
	// A2 failure 0 0
}
