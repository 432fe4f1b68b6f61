package agent_test

import (
	"net/http"

	"github.com/posagent/posagent/agent"
	"github.com/posagent/posagent/agent/api"
	"github.com/posagent/posagent/agent/books"
	"github.com/posagent/posagent/printer"
)

func init() {
	agent.NewTestAPI = func(e *agent.Engine, bk *books.Books, c agent.APIConf) http.Handler {
		acc := api.Access{}
		for _, op := range c.Operators {
			acc.Operators = append(acc.Operators, api.Operator{ID: op.ID, Role: op.Role})
		}
		return api.New(e, bk, api.Options{Token: c.Token, Access: acc, SSEPing: c.SSEPing, RenderReceipt: c.RenderReceipt,
			RenderReport: printer.RenderReportPaper, RenderPlacard: printer.RenderPlacardPaper})
	}
}
