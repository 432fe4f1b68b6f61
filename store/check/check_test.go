package check

import (
	"encoding/json"
	"testing"
)

func TestFindingJSON(t *testing.T) {
	b, _ := json.Marshal(Finding{Page: pg(3), Bucket: "payments", Problem: "x", Damage: true})
	if string(b) != `{"page":3,"bucket":"payments","problem":"x","damage":true}` {
		t.Error(string(b))
	}
}
