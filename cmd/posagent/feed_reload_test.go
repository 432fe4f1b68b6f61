package main

import (
	"testing"

	"github.com/posagent/posagent/config"
)

// The feed's identity and settings are read at start: a reload lists them
// as needing a restart, while the shop's name still applies at once.
func TestReloadFeedKeysNeedARestart(t *testing.T) {
	old, new := &config.Config{}, &config.Config{}
	for _, key := range []string{"merchant.id", "merchant.store", "feed.enabled", "feed.url", "feed.password", "feed.window"} {
		if liveKey(key, old, new) {
			t.Errorf("%s is applied live; the feed reads it at start only", key)
		}
	}
	if !liveKey("merchant.name", old, new) {
		t.Error("merchant.name is no longer live")
	}
}
