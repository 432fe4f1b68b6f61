// Package hwm is the journal's high-water mark: a small file beside the
// journal (MarkPath) that holds its id, its last event sequence and its
// last bbolt transaction, and the last state a full check verified. A
// File writes it after each batch of commits (Post, Run: a burst of
// commits costs one fsync) in two slots written alternately, each with a
// CRC, so a write torn by a power cut leaves the other slot; ReadMark
// reads the newest valid slot.
//
// The journal may run ahead of its mark (a crash between the two writes);
// it may never be behind it. store/check compares the two before use
// (Rollback, check.RollbackError).
package hwm
