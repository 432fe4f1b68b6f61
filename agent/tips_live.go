package agent

import (
	"fmt"
	"slices"

	"github.com/posagent/posagent/agent/route"
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
	t := e.tipRules()
	t.Choices = slices.Clone(choices)
	e.tips.Store(&t)
	return nil
}

// tipRules are the lane's tip rules now (route.Tips), with the suggestions
// SetTipChoices last set (none on an engine New did not make).
func (e *Engine) tipRules() route.Tips {
	if t := e.tips.Load(); t != nil {
		return *t
	}
	return route.Tips{}
}
