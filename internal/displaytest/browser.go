package displaytest

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/posagent/posagent/display"
)

// ChromiumPath is where scripts/setup installs Chromium; the environment
// variable POSAGENT_CHROMIUM overrides it.
const ChromiumPath = "/usr/bin/chromium"

// WaitTimeout bounds every wait of this package, so a broken page fails the
// test instead of hanging it. It is a guard, not a speed requirement.
const WaitTimeout = 20 * time.Second

// StartBrowser starts headless Chromium with a temporary profile and returns
// a chromedp context for one tab; the browser stops when the test ends.
// Without Chromium the test is skipped, or fails when the environment
// variable CI is set.
func StartBrowser(t testing.TB) context.Context {
	t.Helper()
	path := os.Getenv("POSAGENT_CHROMIUM")
	if path == "" {
		path = ChromiumPath
	}
	if _, err := os.Stat(path); err != nil {
		msg := fmt.Sprintf("displaytest: no Chromium at %s (%v): run scripts/setup or apt-get install -y chromium", path, err)
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// A start can fail for reasons of the machine, not of the page (a
	// fork refused while other tests load it): it is tried three times.
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var ctx context.Context
		if ctx, err = startBrowser(t, path); err == nil {
			return ctx
		}
		t.Logf("displaytest: start %s, attempt %d: %v", path, attempt, err)
		time.Sleep(time.Duration(attempt) * 200 * time.Millisecond)
	}
	t.Fatalf("displaytest: start %s: %v", path, err)
	return nil
}

// startBrowser starts one browser with a fresh profile; it is stopped when
// the test ends, or at once when it failed to start.
func startBrowser(t testing.TB, path string) (context.Context, error) {
	profile := t.TempDir()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true), // small /dev/shm in containers
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1024, 768),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	// The first Run starts the browser; it must not carry a timeout.
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		return nil, err
	}
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return ctx, nil
}

// Open loads url in the tab.
func Open(ctx context.Context, url string) error {
	c, cancel := context.WithTimeout(ctx, WaitTimeout)
	defer cancel()
	if err := chromedp.Do(c, chromedp.Navigate(url)); err != nil {
		return fmt.Errorf("displaytest: open %s: %w", url, err)
	}
	return nil
}

// Eval evaluates a JavaScript expression in the page.
func Eval[T any](ctx context.Context, expr string) (T, error) {
	c, cancel := context.WithTimeout(ctx, WaitTimeout)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr))
	if err != nil {
		return v, fmt.Errorf("displaytest: eval %q: %w", expr, err)
	}
	return v, nil
}

// ScreenOf returns the screen the page shows: <body data-screen>.
func ScreenOf(ctx context.Context) (string, error) {
	return Eval[string](ctx, `document.body.getAttribute("data-screen")`)
}

// Text returns the text of the element with this id ("" when absent).
func Text(ctx context.Context, id string) (string, error) {
	return Eval[string](ctx, fmt.Sprintf(`(function(){var e=document.getElementById(%q);return e?e.textContent:"";})()`, id))
}

// WaitUntil waits until the JavaScript expression is truthy.
func WaitUntil(ctx context.Context, expr string) error {
	c, cancel := context.WithTimeout(ctx, WaitTimeout+time.Second)
	defer cancel()
	_, err := chromedp.Run(c, chromedp.Poll[bool]("!!("+expr+")",
		chromedp.WithPollingInterval(25*time.Millisecond), chromedp.WithPollingTimeout(WaitTimeout)))
	if err != nil {
		return fmt.Errorf("displaytest: wait for %s: %w", expr, err)
	}
	return nil
}

// WaitScreen waits until the page shows this screen kind.
func WaitScreen(ctx context.Context, kind string) error {
	err := WaitUntil(ctx, fmt.Sprintf(`document.body.getAttribute("data-screen") === %q`, kind))
	if err != nil {
		got, _ := ScreenOf(ctx)
		return fmt.Errorf("displaytest: page shows %q, want %q: %w", got, kind, err)
	}
	return nil
}

// WaitShown waits until the page has shown this screen kind at some point
// since it loaded (window.POS.history), even if it has moved on since: a
// final screen returns to idle after its hold, and a slow test must not
// miss it.
func WaitShown(ctx context.Context, kind string) error {
	err := WaitUntil(ctx, fmt.Sprintf(`window.POS && POS.history.indexOf(%q) >= 0`, kind))
	if err != nil {
		h, _ := Eval[[]string](ctx, `window.POS ? POS.history : []`)
		return fmt.Errorf("displaytest: page never showed %q (history %v): %w", kind, h, err)
	}
	return nil
}

// WaitConnected waits until the page's event stream is open (true) or
// closed (false): <body data-connected>.
func WaitConnected(ctx context.Context, connected bool) error {
	return WaitUntil(ctx, fmt.Sprintf(`document.body.getAttribute("data-connected") === "%t"`, connected))
}

// WaitQRLoaded waits until the page's #qr image has loaded.
func WaitQRLoaded(ctx context.Context) error {
	return WaitUntil(ctx, `(function(){var q=document.getElementById("qr");return q&&q.getAttribute("src")&&q.complete&&q.naturalWidth>0;})()`)
}

// Screenshot captures the viewport.
func Screenshot(ctx context.Context) (image.Image, error) {
	c, cancel := context.WithTimeout(ctx, WaitTimeout)
	defer cancel()
	b, err := chromedp.Run(c, chromedp.CaptureScreenshot())
	if err != nil {
		return nil, fmt.Errorf("displaytest: screenshot: %w", err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("displaytest: screenshot: %w", err)
	}
	return img, nil
}

// DecodeQRScreenshot takes a screenshot of the page and decodes the QR on
// it with gozxing, as a customer's phone would.
func DecodeQRScreenshot(ctx context.Context) (string, error) {
	img, err := Screenshot(ctx)
	if err != nil {
		return "", err
	}
	return display.DecodeQR(img)
}
