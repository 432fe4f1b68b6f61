package agent

import (
	"net/http"
	"time"

	"github.com/posagent/posagent/agent/books"
	"github.com/posagent/posagent/printer"
)

// The local API lives in agent/api, which imports this package, so this
// package's tests cannot import it. They reach it through NewTestAPI, set by
// api_hook_test.go (package agent_test, which may import agent/api).

// APIConf is what a test asks of the API in front of its engine.
type APIConf struct {
	Token     string
	Operators []APIOperator // operators: (config operators:)
	SSEPing   time.Duration
	// RenderReceipt draws receipt.png (nil: 404).
	RenderReceipt func(printer.Receipt) ([]byte, error)
	// Books adds to the books the API serves (testBooks): the shop's
	// time zone, close_at, the reconciliation rate.
	Books books.Options
}

// APIOperator is a configured operator (id and role).
type APIOperator struct{ ID, Role string }

// NewTestAPI returns the local API in front of e and its books bk.
var NewTestAPI func(e *Engine, bk *books.Books, c APIConf) http.Handler
