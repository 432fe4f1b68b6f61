package config

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func fragmentProblems(t *testing.T, body string) ([]string, []Problem) {
	t.Helper()
	keys, err := CheckFragment("push.yaml", []byte(body))
	if err == nil {
		return keys, nil
	}
	var ce *Error
	if !errors.As(err, &ce) || ce.Op != "fragment" {
		t.Fatalf("CheckFragment = %v, want an *Error with Op fragment", err)
	}
	return keys, ce.Problems
}

func TestCheckFragmentAccepts(t *testing.T) {
	keys, problems := fragmentProblems(t, "display:\n  tip_choices: [10, 15, 18]\nmerchant:\n  footer: [Thank you]\noperators:\n  - id: c1\n    name: Ann\n    role: cashier\n")
	if problems != nil {
		t.Fatalf("problems: %v", problems)
	}
	want := []string{"display.tip_choices", "merchant.footer", "operators[0].id", "operators[0].name", "operators[0].role"}
	if !slices.Equal(keys, want) {
		t.Fatalf("keys %q, want %q", keys, want)
	}
	// A rule about a key the fragment leaves out is the lane's to check
	// (gateway.merchant_id is required, but a lane's own file sets it).
	if _, problems := fragmentProblems(t, "printer:\n  kind: network\n"); problems != nil {
		t.Fatalf("a fragment held to keys it does not set: %v", problems)
	}
}

func TestCheckFragmentRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string // each problem, "line N: words"
	}{
		{"unknown key", "display:\n  tip_choice: [10]\n", []string{"line 2: unknown key display.tip_choice (did you mean display.tip_choices?)"}},
		{"bad value", "agent:\n  scan_window: soon\n", []string{`line 2: agent.scan_window "soon" is not a duration`}},
		{"a rule on a key it sets", "display:\n  tip_choices: [10, 50]\n", []string{"line 2: display.tip_choices: 50 % is above tips.max_percent 30"}},
		{"duplicate key", "merchant:\n  name: A\n  name: B\n", []string{"line 3: merchant.name is written twice, on line 2 and line 3"}},
		{"malformed", "merchant: [\n", []string{"malformed YAML"}},
		{"sign key", "gateway:\n  sign_key: hunter2-not-shown\n", []string{"line 2: gateway.sign_key is a secret: it stays in each lane's own file"}},
		{"a token", "api:\n  tokens:\n    manager: m-token-not-shown\n", []string{"line 3: api.tokens.manager is a secret"}},
		{"a PIN hash", "operators:\n  - id: m1\n    role: manager\n    pin_hash: $2a$10$notshown\n", []string{"line 4: operators[0].pin_hash is a secret"}},
		{"a feed password", "feed:\n  password: p-not-shown\n", []string{"line 2: feed.password is a secret"}},
		{"a duplicated secret", "gateway:\n  sign_key: a-not-shown\n  sign_key: b-not-shown\n", []string{"line 3: gateway.sign_key is written twice", "line 3: gateway.sign_key is a secret"}},
		{"several at once", "gateway:\n  sign_key: s-not-shown\ndisplay:\n  tip_choices: [0]\nbogus: 1\n", []string{"line 2: gateway.sign_key is a secret", "line 4: display.tip_choices: 0 is not a percentage", "line 5: unknown key bogus"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, problems := fragmentProblems(t, tc.body)
			if len(problems) != len(tc.want) {
				t.Fatalf("problems:\n%v\nwant:\n%q", problems, tc.want)
			}
			for i, p := range problems {
				if !strings.HasPrefix(p.String(), tc.want[i]) {
					t.Errorf("problem %d: %q, want it to start with %q", i, p.String(), tc.want[i])
				}
				if strings.Contains(p.String(), "not-shown") || strings.Contains(p.String(), "notshown") {
					t.Errorf("a secret's value in %q", p.String())
				}
			}
		})
	}
}

func TestSecretIn(t *testing.T) {
	got := SecretIn([]string{"gateway.sign_key", "display.tip_choices", "operators[3].pin_hash", "operators[3].name", "feed.nkey_seed", "nope"})
	if want := []string{"gateway.sign_key", "operators[3].pin_hash", "feed.nkey_seed"}; !slices.Equal(got, want) {
		t.Fatalf("SecretIn = %q, want %q", got, want)
	}
	if !Secret("operators[0].pin_hash") || Secret("operators[0].name") || !Secret("api.token") && !Secret("api.tokens.pos") {
		t.Error("Secret on list items")
	}
}
