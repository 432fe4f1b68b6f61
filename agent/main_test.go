package agent

import (
	"errors"
	"testing"

	"go.uber.org/goleak"

	"github.com/posagent/posagent/internal/agenttest"
)

// The engine's own tests call it directly; the tests of the whole stack
// (the engine behind its API, the simulator, crashes, the money model)
// are in agent/stacktest.

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var newGatewayClient = agenttest.GatewayClient

func asOpError(err error, oe **OpError) bool { return errors.As(err, oe) }
