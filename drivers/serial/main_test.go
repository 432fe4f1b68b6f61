package serial

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a reader goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
