// Package config is the agent's configuration: one YAML file, environment
// overrides, device profiles, validation and the commented example file.
// It is the only package that imports viper.
//
// # Basics
//
//	cfg, src, err := config.Check(path, os.Environ()) // path is --config, or ""
//	if err != nil { ... } // *config.Error: every problem (keys, values, profile, rules), each with its line, key and fix
//
// Check is Load followed by Validate with the validation problems given
// the line of their key (or of its section), all sorted by line. Load and
// Validate remain for callers that want one half (doctor, config show).
// Diff and WriteDiff say what differs from the built-in defaults and the
// profile (posagent config diff); Changes and With are what a reload of a
// running agent compares and merges, and Live says which changes it
// applies at once: a `live` tag on the field names the rule (live.go;
// LiveKeys, LiveTable and WriteLive list them for the docs and posagent
// config live). ExampleFor and WriteFile write a new file (posagent config
// init); AddOperator adds an operator to an existing one.
//
// Load layers four sources, each overriding the one before:
//
//  1. defaults: the in-process simulator with the contract's gateway values,
//     so a fresh checkout runs with no file and no account;
//  2. the device profile named by device.profile (sunmi-t2, clover-station,
//     ... see Profiles): paper and dots, printer quirks, display kind and
//     size, scanner transport and ids, deployment;
//  3. the file: path if given, else ./posagent.yaml, else
//     /etc/posagent/posagent.yaml, else none;
//  4. the environment: POSAGENT_ and the key in capitals with "." as "_"
//     (gateway.sign_key is POSAGENT_GATEWAY_SIGN_KEY). Lists take YAML flow
//     syntax (POSAGENT_SCANNERS='[{name: a, kind: hid, vid: 0x1eab, pid: 0x1a03}]',
//     POSAGENT_PRINTER_COPIES='[customer, merchant]'), or for lists of
//     strings one item per line; POSAGENT_SCANNERS_0_DEVICE sets one field
//     of an existing scanner.
//
// Sources records which layer every value came from; Show prints the
// effective configuration with it, secrets redacted.
//
// # Caveats
//
//   - The file is read as YAML nodes, not through YAML's own typing, so a
//     string key keeps its literal text: operator_id: 0000000696 stays ten
//     digits even unquoted. Integers accept hex (vid: 0x0c2e); durations are
//     Go durations plus whole days ("90d"); a bare number is refused for a
//     duration because its unit is ambiguous.
//   - A key written twice in one mapping (top level, nested, or inside one
//     scanner) is an error naming both lines, and neither value is read;
//     YAML merge keys (<<: *base) are not duplicates.
//   - agent.log_level and agent.log_format are the old names of log.level
//     and log.format (Renamed): read with a warning, hidden from Keys and Show.
//   - Unknown keys (at any depth, also inside scanners[]) are errors with a
//     suggestion; unknown POSAGENT_ variables are only warnings
//     (Sources.Warnings), since other tools share the environment.
//   - A list (scanners, merchant.address) comes whole from one layer: a file
//     that lists scanners replaces the profile's list.
//   - Values that are secrets (gateway.sign_key, api.token, bridge.token)
//     never appear in an error, a warning or Show: errors give their length
//     at most.
//   - Validate does no I/O. Whether a device exists, a port answers or the
//     gateway is reachable is for `posagent doctor`.
//   - Load does not call Validate, so `config show` can display a config
//     that would not start; the daemon must call both.
package config
