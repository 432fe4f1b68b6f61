package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"time"

	"github.com/posagent/posagent/store/internal/fsutil"
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
// two, key by key).

var (
	bFleet        = []byte("fleet")
	keyFleetState = []byte("state")
)

// FleetBundle is a bundle a lane applied.
type FleetBundle struct {
	Version uint64 `json:"version"`
	// Envelope is the signed bundle as it came from head office.
	Envelope []byte    `json:"envelope"`
	At       time.Time `json:"at"`
}

// FleetState is what a lane applied from head office.
type FleetState struct {
	// Highest is, per bundle key (config.<merchant>.<store>[.<lane>]),
	// the highest version ever applied: never lowered.
	Highest map[string]uint64 `json:"highest,omitempty"`
	// Applied is, per key, the bundle in effect.
	Applied map[string]FleetBundle `json:"applied,omitempty"`
	// Staged are the restart-only keys the applied bundles changed, which
	// wait for the next restart; StagedVersion the bundle that staged the
	// last of them. The daemon clears them when it starts with them.
	Staged        []string `json:"staged,omitempty"`
	StagedVersion uint64   `json:"staged_version,omitempty"`
	// Gen counts the changes (the newer of the journal and the file wins
	// for Staged).
	Gen uint64 `json:"gen"`
}

// FleetMarkPath is the fleet's high-water file of the journal at path.
func FleetMarkPath(path string) string { return path + ".fleet" }

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
	file, err := readFleetMark(FleetMarkPath(s.path))
	if err != nil {
		return st, err
	}
	return mergeFleet(st, file), nil
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
	file, err := readFleetMark(FleetMarkPath(s.path))
	if err != nil {
		return err
	}
	var next FleetState
	err = s.Update(func(t *Tx) error {
		cur, err := t.fleetState()
		if err != nil {
			return err
		}
		cur = mergeFleet(cur, file)
		next = cloneFleet(cur)
		if err := fn(t, &next); err != nil {
			return err
		}
		for k, v := range cur.Highest {
			if next.Highest[k] < v {
				return fmt.Errorf("store: fleet: the highest version of %s would go back from %d to %d", k, v, next.Highest[k])
			}
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
	return writeFleetMark(FleetMarkPath(s.path), next)
}

func cloneFleet(st FleetState) FleetState {
	st.Highest = maps.Clone(st.Highest)
	st.Applied = maps.Clone(st.Applied)
	st.Staged = slices.Clone(st.Staged)
	if st.Highest == nil {
		st.Highest = map[string]uint64{}
	}
	if st.Applied == nil {
		st.Applied = map[string]FleetBundle{}
	}
	return st
}

// mergeFleet is a raised by b: per key the higher Highest and the newer
// applied bundle; the staged keys of the newer generation.
func mergeFleet(a, b FleetState) FleetState {
	out := cloneFleet(a)
	for k, v := range b.Highest {
		out.Highest[k] = max(out.Highest[k], v)
	}
	for k, ab := range b.Applied {
		if cur, ok := out.Applied[k]; !ok || ab.Version > cur.Version {
			out.Applied[k] = ab
		}
	}
	if b.Gen > a.Gen {
		out.Staged, out.StagedVersion, out.Gen = slices.Clone(b.Staged), b.StagedVersion, b.Gen
	}
	return out
}

func readFleetMark(path string) (FleetState, error) {
	var st FleetState
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("store: fleet mark %s: %w", path, err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, fmt.Errorf("store: fleet mark %s unreadable (%v): restore it from a backup or remove it to take the journal's", path, err)
	}
	return st, nil
}

func writeFleetMark(path string, st FleetState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileSync(path, b, 0o600); err != nil {
		return fmt.Errorf("store: fleet mark %s: %w", path, err)
	}
	return nil
}
