//go:build !linux

package serial

// guard is a no-op outside Linux: no exclusive lock, no liveness probe.
type guard struct{}

func newGuard(string) (*guard, error) { return nil, nil }
func (g *guard) alive() error         { return nil }
func (g *guard) close()               {}

// CheckAccess is not implemented outside Linux: it reports nothing.
func CheckAccess(string) error { return nil }
