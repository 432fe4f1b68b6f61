package config

import _ "embed"

//go:embed example.yaml
var example []byte

// Example returns the fully commented example configuration that
// `posagent config init` writes. It loads and validates as it is.
func Example() []byte { return append([]byte(nil), example...) }
