package bridge

import "fmt"

// Sink sends rendered screens to the helper as display frames. With S =
// display.Screen and render = (*display.Renderer).PNG it is a display.Sink,
// so the customer-display controller drives a bridged screen like any other.
type Sink[S any] struct {
	hub    *Hub
	render func(S) ([]byte, error)
}

// FrameSink returns a Sink that renders each screen with render and hands
// the PNG to h.ShowFrame (latest wins; it never waits for the helper).
func FrameSink[S any](h *Hub, render func(S) ([]byte, error)) *Sink[S] {
	return &Sink[S]{hub: h, render: render}
}

// Show renders s and sends it as the latest frame.
func (k *Sink[S]) Show(s S) error {
	png, err := k.render(s)
	if err != nil {
		return fmt.Errorf("bridge: render display frame: %w", err)
	}
	return k.hub.ShowFrame(png)
}
