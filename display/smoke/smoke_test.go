package smoke

import (
	"context"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/posagent/posagent/client"
	"github.com/posagent/posagent/display"
	"github.com/posagent/posagent/internal/displaytest"
)

// agent is the client of the agent POSAGENT_AGENT_URL names (with
// POSAGENT_API_TOKEN, the pos token, when it has tokens).
func agent(t *testing.T) (*client.Client, string) {
	u := strings.TrimRight(os.Getenv("POSAGENT_AGENT_URL"), "/")
	if u == "" {
		t.Skip("set POSAGENT_AGENT_URL to a running agent with the simulator to run the display smoke test")
	}
	c, err := client.New(client.Options{URL: u, Token: os.Getenv("POSAGENT_API_TOKEN")})
	must(t, err)
	return c, u
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestAgentDisplay: a qr payment shows its QR (decoded from a screenshot to
// exactly the code_url), paying it turns the page to paid without a
// reload, and a scan payment shows the scan prompt.
func TestAgentDisplay(t *testing.T) {
	c, base := agent(t)
	bg := context.Background()
	ctx := displaytest.StartBrowser(t)
	must(t, displaytest.Open(ctx, base+"/display"))
	must(t, displaytest.WaitConnected(ctx, true))
	_, err := displaytest.Eval[bool](ctx, `window.__smoke = true`)
	must(t, err)

	p, err := c.CreatePayment(bg, client.PaymentRequest{Amount: 1250, Currency: "CAD", Mode: "qr", Wallet: "wechat", Reference: "SMOKE-QR"})
	must(t, err)
	must(t, displaytest.WaitUntil(ctx, `document.body.getAttribute("data-payment-id") === "`+p.ID+`" && document.body.getAttribute("data-screen") === "qr"`))
	must(t, displaytest.WaitQRLoaded(ctx))
	// The payment of the qr screen (the code_url may arrive after creation).
	q, err := c.Payment(bg, p.ID)
	must(t, err)
	got, err := displaytest.DecodeQRScreenshot(ctx)
	if err != nil || got != q.CodeURL {
		t.Fatalf("screenshot QR %q, %v; want %q", got, err, q.CodeURL)
	}
	if amt, _ := displaytest.Text(ctx, "amount"); amt != "CAD 12.50" {
		t.Errorf("amount %q", amt)
	}
	// The simulator's code_url plays the customer paying.
	resp, err := http.Get(q.CodeURL)
	must(t, err)
	resp.Body.Close()
	must(t, displaytest.WaitShown(ctx, display.KindPaid))
	if ok, _ := displaytest.Eval[bool](ctx, `window.__smoke === true`); !ok {
		t.Error("the page reloaded")
	}

	s, err := c.CreatePayment(bg, client.PaymentRequest{Amount: 700, Currency: "CAD", Mode: "scan", Reference: "SMOKE-SCAN"})
	must(t, err)
	must(t, displaytest.WaitUntil(ctx, `document.body.getAttribute("data-payment-id") === "`+s.ID+`" && document.body.getAttribute("data-screen") === "scan_prompt"`))
	_, err = c.Cancel(bg, s.ID)
	must(t, err)
	must(t, displaytest.WaitShown(ctx, display.KindCancelled))
}
