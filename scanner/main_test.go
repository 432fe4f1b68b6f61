package scanner

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind (a
// Source that did not stop at cancel).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
