package agent

import "testing"

func TestCanTransition(t *testing.T) {
	all := []State{AwaitingCode, Processing, Queued, InDoubt, Succeeded, Failed, Cancelled, Expired, Reversed}
	allowed := map[[2]State]bool{
		{AwaitingCode, Processing}: true, {AwaitingCode, Cancelled}: true,
		{Processing, Succeeded}: true, {Processing, Failed}: true, {Processing, Queued}: true,
		{Processing, InDoubt}: true, {Processing, Cancelled}: true,
		{Queued, Processing}: true, {Queued, Expired}: true, {Queued, Cancelled}: true,
		{InDoubt, Reversed}: true, {InDoubt, Cancelled}: true, {InDoubt, Failed}: true, {InDoubt, Succeeded}: true,
	}
	for _, from := range all {
		for _, to := range all {
			want := allowed[[2]State{from, to}] || from == to
			if got := CanTransition(from, to); got != want {
				t.Errorf("CanTransition(%s, %s) = %v, want %v", from, to, got, want)
			}
		}
	}
	// Spot checks that read as the contract.
	cases := []struct {
		from, to State
		want     bool
	}{
		{Succeeded, Reversed, false}, // final never changes: a late refund path goes through in_doubt
		{Succeeded, Succeeded, true}, // a field update (a refund added) keeps the state
		{Queued, Succeeded, false},   // a queued payment reached nobody: it must be sent (processing) first
		{AwaitingCode, InDoubt, false},
		{Expired, Processing, false},
		{"", Processing, false},
	}
	for _, c := range cases {
		if got := CanTransition(c.from, c.to); got != c.want {
			t.Errorf("CanTransition(%q, %q) = %v, want %v", c.from, c.to, got, c.want)
		}
	}
}

func TestFinalStates(t *testing.T) {
	final := map[State]bool{Succeeded: true, Failed: true, Cancelled: true, Expired: true, Reversed: true}
	for _, s := range []State{AwaitingCode, Processing, Queued, InDoubt, Succeeded, Failed, Cancelled, Expired, Reversed} {
		if s.Final() != final[s] {
			t.Errorf("%s.Final() = %v", s, s.Final())
		}
	}
}

func TestFailCodes(t *testing.T) {
	cases := map[string]string{
		"FAIL": "declined", "PWD_INCORRECT": "wrong_password", "PARAM_INVALID": "invalid_code",
		"PARAM_ERROR": "invalid_code", "ORDER_TYPE_ERROR": "wallet_not_supported", "SOMETHING": "declined",
	}
	for rsp, want := range cases {
		if got := failCode(rsp); got != want {
			t.Errorf("failCode(%s) = %s, want %s", rsp, got, want)
		}
	}
}

func TestBackoffRepeatsLast(t *testing.T) {
	o := Options{}
	o.setDefaults()
	want := []string{"2m0s", "10m0s", "1h0m0s", "6h0m0s", "24h0m0s", "24h0m0s", "24h0m0s"}
	for i, w := range want {
		if got := backoff(o.ReconcileBackoff, i).String(); got != w {
			t.Errorf("reconcile backoff %d = %s, want %s", i, got, w)
		}
	}
	o = Options{TimeScale: 0.01}
	o.setDefaults()
	if o.ScanPollWindow.String() != "600ms" || o.QRWindow.String() != "1.8s" || backoff(o.ReconcileBackoff, 0).String() != "1.2s" {
		t.Errorf("TimeScale not applied: %v %v %v", o.ScanPollWindow, o.QRWindow, o.ReconcileBackoff)
	}
}
