// Package textview writes the local API's answers as text a person reads:
// the status summary of `posagent status`, one payment (`posagent show`),
// a list of payments (`posagent payments`) and the one-line notes on a
// payment's state and tip that `pay`, `cancel` and `resolve` print.
//
// It works on the typed values of package client only, so a Go POS or a
// dashboard that talks to the agent through client can show the same text
// the CLI does. Every function is pure: it writes to an io.Writer and, where
// ages are shown, counts them to a given time.
package textview
