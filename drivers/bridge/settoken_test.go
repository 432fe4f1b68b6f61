package bridge_test

import (
	"errors"
	"testing"

	"github.com/posagent/posagent/drivers/bridge"
	"github.com/posagent/posagent/drivers/bridge/bridgeclient"
)

// A token changed by a reload (SetToken) is in force at once: the helper
// connected with the old one is closed, the old one is refused, the new
// one connects. Before SetToken the hub kept its start token until a
// restart.
func TestSetTokenClosesOldSessions(t *testing.T) {
	th := startHub(t, bridge.Options{})
	ctx := testCtx(t)
	c, err := bridgeclient.Dial(ctx, th.url, testToken, "sunmi-t2")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	th.connected(t)
	const fresh = "rotated-bridge-token-1"
	th.SetToken(fresh)
	th.disconnected(t)
	if _, err := bridgeclient.Dial(ctx, th.url, testToken, "sunmi-t2"); !errors.Is(err, bridgeclient.ErrUnauthorized) {
		t.Errorf("old token after SetToken: %v, want ErrUnauthorized", err)
	}
	c2, err := bridgeclient.Dial(ctx, th.url, fresh, "sunmi-t2")
	if err != nil {
		t.Fatalf("new token after SetToken: %v", err)
	}
	defer c2.Close()
	th.connected(t)
}
