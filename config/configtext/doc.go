// Package configtext writes what a technician reads about a configuration
// that package config loads and checks: the verdict of `posagent config
// check` (ok, or every problem with its line), the problems listed after
// `config show` and `config diff`, and the device profiles.
package configtext
