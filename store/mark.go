package store

import (
	"github.com/posagent/posagent/store/hwm"
)

type (
	// Mark is the journal's high-water mark (hwm.Mark).
	Mark = hwm.Mark
	// Verified names the journal state a full check found sound.
	Verified = hwm.Verified
	// Rollback says how a journal is behind its high-water mark.
	Rollback = hwm.Rollback
)

// MarkPath is the high-water-mark file of the journal at path.
func MarkPath(path string) string { return hwm.MarkPath(path) }

func readMark(path string) (*Mark, error) { return hwm.ReadMark(path) }
