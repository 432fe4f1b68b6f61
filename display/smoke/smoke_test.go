package smoke

import (
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/posagent/posagent/display"
	"github.com/posagent/posagent/display/displaytest"
)

func agentURL(t *testing.T) string {
	u := strings.TrimRight(os.Getenv("POSAGENT_AGENT_URL"), "/")
	if u == "" {
		t.Skip("set POSAGENT_AGENT_URL to a running agent with the simulator to run the display smoke test")
	}
	return u
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func post(t *testing.T, url, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	must(t, err)
	defer resp.Body.Close()
	var out map[string]any
	must(t, json.NewDecoder(resp.Body).Decode(&out))
	if resp.StatusCode >= 300 {
		t.Fatalf("POST %s: %d %v", url, resp.StatusCode, out)
	}
	return out
}

// TestAgentDisplay: a qr payment shows its QR (decoded from a screenshot to
// exactly the code_url), paying it turns the page to paid without a
// reload, and a scan payment shows the scan prompt.
func TestAgentDisplay(t *testing.T) {
	base := agentURL(t)
	ctx := displaytest.StartBrowser(t)
	must(t, displaytest.Open(ctx, base+"/display"))
	must(t, displaytest.WaitConnected(ctx, true))
	_, err := displaytest.Eval[bool](ctx, `window.__smoke = true`)
	must(t, err)

	p := post(t, base+"/v1/payments", `{"amount":1250,"currency":"CAD","mode":"qr","wallet":"wechat","reference":"SMOKE-QR"}`)
	must(t, displaytest.WaitUntil(ctx, `document.body.getAttribute("data-payment-id") === "`+p["id"].(string)+`" && document.body.getAttribute("data-screen") === "qr"`))
	must(t, displaytest.WaitQRLoaded(ctx))
	// The payment JSON of the qr screen (the code_url may arrive after creation).
	resp, err := http.Get(base + "/v1/payments/" + p["id"].(string))
	must(t, err)
	var q map[string]any
	must(t, json.NewDecoder(resp.Body).Decode(&q))
	resp.Body.Close()
	codeURL, _ := q["code_url"].(string)
	got, err := displaytest.DecodeQRScreenshot(ctx)
	if err != nil || got != codeURL {
		t.Fatalf("screenshot QR %q, %v; want %q", got, err, codeURL)
	}
	if amt, _ := displaytest.Text(ctx, "amount"); amt != "CAD 12.50" {
		t.Errorf("amount %q", amt)
	}
	// The simulator's code_url plays the customer paying.
	resp, err = http.Get(codeURL)
	must(t, err)
	resp.Body.Close()
	must(t, displaytest.WaitShown(ctx, display.KindPaid))
	if ok, _ := displaytest.Eval[bool](ctx, `window.__smoke === true`); !ok {
		t.Error("the page reloaded")
	}

	s := post(t, base+"/v1/payments", `{"amount":700,"currency":"CAD","mode":"scan","reference":"SMOKE-SCAN"}`)
	must(t, displaytest.WaitUntil(ctx, `document.body.getAttribute("data-payment-id") === "`+s["id"].(string)+`" && document.body.getAttribute("data-screen") === "scan_prompt"`))
	post(t, base+"/v1/payments/"+s["id"].(string)+"/cancel", `{}`)
	must(t, displaytest.WaitShown(ctx, display.KindCancelled))
}
