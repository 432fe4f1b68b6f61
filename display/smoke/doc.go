// Package smoke holds hands-on checks of the customer display against a
// running agent (posagent run with gateway.url: sim). They are skipped
// unless POSAGENT_AGENT_URL names the agent's API (and POSAGENT_API_TOKEN its
// pos token, when it has tokens), for example:
//
//	posagent run --config posagent.yaml &
//	POSAGENT_AGENT_URL=http://127.0.0.1:7420 go test ./display/smoke -v
//
// They start payments through the local API (real money never moves with
// the simulator), so never point them at an agent wired to a real gateway.
package smoke
