package agent

import (
	"fmt"
	"slices"
)

// SetTipChoices replaces the tip suggestions (display.tip_choices) a cart
// set from now on offers; a cart already set keeps its own. A reload and a
// bundle from head office change them live.
func (e *Engine) SetTipChoices(choices []int) error {
	for _, c := range choices {
		if c < 1 || c > e.o.TipMaxPercent {
			return fmt.Errorf("agent: the tip suggestion %d %% is not between 1 and the maximum %d %%", c, e.o.TipMaxPercent)
		}
	}
	cs := slices.Clone(choices)
	e.tips.Store(&cs)
	return nil
}

// tipChoices are the suggestions a new cart offers (a copy).
func (e *Engine) tipChoices() []int {
	if p := e.tips.Load(); p != nil {
		return slices.Clone(*p)
	}
	return slices.Clone(e.o.TipChoices)
}
