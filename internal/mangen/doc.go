// Package mangen writes man pages (section 1, gzipped roff) for a cobra
// command tree: one page per visible command, from its Use, Short, Long
// and flags, with the parent and subcommands under SEE ALSO. The packages
// ship them (posagent gen-docs, scripts/package).
package mangen
