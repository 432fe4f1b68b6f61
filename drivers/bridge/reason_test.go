package bridge_test

import (
	"context"
	"testing"

	"github.com/posagent/posagent/drivers/bridge"
	"github.com/posagent/posagent/drivers/bridge/bridgeclient"
)

// TestDisconnectReason: the reason a disconnect reports (the bridge
// device's last_error) says who ended the session and why, never a raw
// read error: a helper that stops cleanly is "closed by the helper", a
// session the hub closed (a new token) carries the hub's reason.
func TestDisconnectReason(t *testing.T) {
	th := startHub(t, bridge.Options{})
	ctx := testCtx(t)

	c, err := bridgeclient.Dial(ctx, th.url, testToken, "sunmi-t2")
	if err != nil {
		t.Fatal(err)
	}
	th.connected(t)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- c.Run(cctx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("client Run after cancel: %v, want nil", err)
	}
	if st := th.disconnected(t); st.Reason != "closed by the helper: helper stopping" {
		t.Errorf("a helper stopping cleanly: reason %q, want %q", st.Reason, "closed by the helper: helper stopping")
	}

	c2, err := bridgeclient.Dial(ctx, th.url, testToken, "sunmi-t2")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	th.connected(t)
	th.SetToken("rotated-bridge-token-2")
	if st := th.disconnected(t); st.Reason != "token changed" {
		t.Errorf("a session closed by a new token: reason %q, want %q", st.Reason, "token changed")
	}
}
