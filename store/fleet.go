package store

import (
	"encoding/json"
	"fmt"

	"github.com/posagent/posagent/store/fleetmark"
)

// The fleet's state (configuration pushed from head office: package
// fleet/lane, docs/fleet.md) is kept in the journal, in a bucket of its
// own:
//
//	fleet   "state" -> FleetState JSON
//
// so that it commits with the fleet.* events that speak of it, and, after
// every change, in a small file beside the journal (FleetMarkPath). The
// file is the fleet's high-water mark: a journal restored from an older
// backup cannot lower the highest version a lane ever applied, and the lane
// keeps running the newest bundles (FleetState takes the higher of the
// two, key by key). The state, its merge rule and the file are package
// store/fleetmark; the bucket and the transaction are here.

var (
	bFleet        = []byte("fleet")
	keyFleetState = []byte("state")
)

// FleetBundle is a bundle a lane applied (store/fleetmark).
type FleetBundle = fleetmark.Bundle

// FleetState is what a lane applied from head office (store/fleetmark).
type FleetState = fleetmark.State

// FleetMarkPath is the fleet's high-water file of the journal at path.
func FleetMarkPath(path string) string { return fleetmark.Path(path) }

// FleetState reads the fleet's state: the journal's, raised by the file
// beside it (a restored older journal does not lower it).
func (s *Store) FleetState() (FleetState, error) {
	var st FleetState
	err := s.View(func(t *Tx) error {
		var err error
		st, err = t.fleetState()
		return err
	})
	if err != nil {
		return st, err
	}
	file, err := fleetmark.Read(FleetMarkPath(s.path))
	if err != nil {
		return st, err
	}
	return fleetmark.Merge(st, file), nil
}

func (t *Tx) fleetState() (FleetState, error) {
	var st FleetState
	if b := t.tx.Bucket(bFleet); b != nil {
		if v := b.Get(keyFleetState); v != nil {
			if err := json.Unmarshal(v, &st); err != nil {
				return st, fmt.Errorf("store: fleet state unreadable: %w", err)
			}
		}
	}
	return st, nil
}

// UpdateFleet changes the fleet's state in one transaction: fn gets the
// current state (the journal's raised by the file) and may append events
// (t.AppendEvent, t.AppendAudit) beside its change. A change that lowers a
// key's Highest is refused. The file beside the journal is written after
// the commit.
func (s *Store) UpdateFleet(fn func(t *Tx, st *FleetState) error) error {
	file, err := fleetmark.Read(FleetMarkPath(s.path))
	if err != nil {
		return err
	}
	var next FleetState
	err = s.Update(func(t *Tx) error {
		cur, err := t.fleetState()
		if err != nil {
			return err
		}
		cur = fleetmark.Merge(cur, file)
		next = fleetmark.Clone(cur)
		if err := fn(t, &next); err != nil {
			return err
		}
		if err := fleetmark.Lowered(cur, next); err != nil {
			return err
		}
		next.Gen = cur.Gen + 1
		b, err := t.w().CreateBucketIfNotExists(bFleet)
		if err != nil {
			return err
		}
		v, err := json.Marshal(next)
		if err != nil {
			return err
		}
		return b.Put(keyFleetState, v)
	})
	if err != nil {
		return err
	}
	return fleetmark.Write(FleetMarkPath(s.path), next)
}
