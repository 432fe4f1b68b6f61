package fleetmark

import "github.com/posagent/posagent/store"

// The state is the journal's document "fleet" (store.Tx.Doc), raised by
// the file beside the journal (Path).
const doc = "fleet"

// Get reads the fleet's state of the journal s: the journal's, raised by
// the file beside it (a restored older journal does not lower it).
func Get(s *store.Store) (State, error) {
	var st State
	err := s.View(func(t *store.Tx) error {
		_, err := t.Doc(doc, &st)
		return err
	})
	if err != nil {
		return st, err
	}
	file, err := Read(Path(s.Path()))
	if err != nil {
		return st, err
	}
	return Merge(st, file), nil
}

// Update changes the fleet's state of the journal s in one transaction: fn
// gets the current state (the journal's raised by the file) and may append
// events (t.AppendEvent, t.AppendAudit) beside its change. A change that
// lowers a key's Highest is refused. The file beside the journal is
// written after the commit.
func Update(s *store.Store, fn func(t *store.Tx, st *State) error) error {
	file, err := Read(Path(s.Path()))
	if err != nil {
		return err
	}
	var next State
	err = s.Update(func(t *store.Tx) error {
		var cur State
		if _, err := t.Doc(doc, &cur); err != nil {
			return err
		}
		cur = Merge(cur, file)
		next = Clone(cur)
		if err := fn(t, &next); err != nil {
			return err
		}
		if err := Lowered(cur, next); err != nil {
			return err
		}
		next.Gen = cur.Gen + 1
		return t.PutDoc(doc, next)
	})
	if err != nil {
		return err
	}
	return Write(Path(s.Path()), next)
}
