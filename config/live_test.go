package config

import "testing"

// The feed's identity and settings are read at start: a reload lists them
// as needing a restart, while the shop's name still applies at once.
func TestReloadFeedKeysNeedARestart(t *testing.T) {
	old, new := &Config{}, &Config{}
	for _, key := range []string{"merchant.id", "merchant.store", "feed.enabled", "feed.url", "feed.password", "feed.window"} {
		if Live(key, old, new) {
			t.Errorf("%s is applied live; the feed reads it at start only", key)
		}
	}
	if !Live("merchant.name", old, new) {
		t.Error("merchant.name is no longer live")
	}
}

// Every live tag names a rule.
func TestLiveTagsNameRules(t *testing.T) {
	if err := checkLiveTags(); err != nil {
		t.Fatal(err)
	}
}
