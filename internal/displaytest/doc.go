// Package displaytest drives the customer display page in real headless
// Chromium (github.com/chromedp/chromedp) and reads it back the way a test
// needs: the screen shown (<body data-screen>), element text, and the QR
// decoded from a screenshot with gozxing.
//
// The helpers take the page URL, so the same checks run against the display
// package's Handler with a Hub (a small real SSE stream in the agent's
// format) or against the running agent:
//
//	ctx := displaytest.StartBrowser(t) // skips without Chromium unless CI is set
//	displaytest.Open(ctx, base+"/display")
//	displaytest.WaitScreen(ctx, "qr")
//	url, err := displaytest.DecodeQRScreenshot(ctx)
//
// Every wait is bounded by WaitTimeout so a broken page fails instead of
// hanging; that bound is a guard, not a speed requirement. Chromium runs with
// --headless --no-sandbox --disable-gpu --disable-quic and a temporary
// profile, from /usr/bin/chromium or $POSAGENT_CHROMIUM.
//
// It lives under the module's internal/: test support, importable only
// inside the module, no API.
package displaytest
