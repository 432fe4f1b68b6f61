package bridge_test

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"strings"
	"testing"

	"github.com/posagent/posagent/display"
	"github.com/posagent/posagent/drivers/bridge"
	"github.com/posagent/posagent/drivers/bridge/bridgeclient"
)

// The customer-display controller's sink interface is met by a FrameSink
// over the real renderer.
var _ display.Sink = bridge.FrameSink[display.Screen](nil, nil)

// A screen shown through the sink reaches the helper as a PNG of the
// screen's size (the Sunmi T1 mini's 128x40 LCD here).
func TestFrameSinkShowsRenderedScreens(t *testing.T) {
	th := startHub(t, bridge.Options{})
	ctx := testCtx(t)
	r, err := display.NewRenderer(display.FrameOptions{Width: 128, Height: 40, MerchantName: "Maple Tea House"})
	if err != nil {
		t.Fatal(err)
	}
	frames := make(chan []byte, 8)
	c, err := bridgeclient.Dial(ctx, th.url, testToken, "sunmi-t1mini",
		bridgeclient.WithDisplayHandler(func(ctx context.Context, j bridgeclient.Job) error {
			frames <- j.Data
			return nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	th.connected(t)
	runClient(t, c)

	sink := bridge.FrameSink(th.Hub, r.PNG)
	screen := display.Screen{Kind: "amount_due", Amount: 1250, Currency: "CAD"}
	if err := sink.Show(screen); err != nil {
		t.Fatalf("Show: %v", err)
	}
	want, _ := r.PNG(screen)
	got := <-frames
	if !bytes.Equal(got, want) {
		t.Errorf("frame differs from the rendered screen (%d bytes, want %d)", len(got), len(want))
	}
	img, err := png.Decode(bytes.NewReader(got))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 128 || b.Dy() != 40 {
		t.Errorf("frame %dx%d, want 128x40", b.Dx(), b.Dy())
	}

	bad := bridge.FrameSink(th.Hub, func(display.Screen) ([]byte, error) { return nil, errors.New("font missing") })
	if err := bad.Show(screen); err == nil || !strings.Contains(err.Error(), "render display frame: font missing") {
		t.Errorf("render failure: %v", err)
	}
}
