package fleetmark

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

// Bundle is a bundle a lane applied.
type Bundle struct {
	Version uint64 `json:"version"`
	// Envelope is the signed bundle as it came from head office.
	Envelope []byte    `json:"envelope"`
	At       time.Time `json:"at"`
}

// State is what a lane applied from head office.
type State struct {
	// Highest is, per bundle key (config.<merchant>.<store>[.<lane>]),
	// the highest version ever applied: never lowered.
	Highest map[string]uint64 `json:"highest,omitempty"`
	// Applied is, per key, the bundle in effect.
	Applied map[string]Bundle `json:"applied,omitempty"`
	// Staged are the restart-only keys the applied bundles changed, which
	// wait for the next restart; StagedVersion the bundle that staged the
	// last of them. The daemon clears them when it starts with them.
	Staged        []string `json:"staged,omitempty"`
	StagedVersion uint64   `json:"staged_version,omitempty"`
	// Gen counts the changes (the newer of the journal and the file wins
	// for Staged).
	Gen uint64 `json:"gen"`
}

// Path is the fleet's high-water file of the journal at journal.
func Path(journal string) string { return journal + ".fleet" }

// Clone is a deep copy of st with its maps made (never nil).
func Clone(st State) State {
	st.Highest = maps.Clone(st.Highest)
	st.Applied = maps.Clone(st.Applied)
	st.Staged = slices.Clone(st.Staged)
	if st.Highest == nil {
		st.Highest = map[string]uint64{}
	}
	if st.Applied == nil {
		st.Applied = map[string]Bundle{}
	}
	return st
}

// Merge is a raised by b: per key the higher Highest and the newer
// applied bundle; the staged keys of the newer generation.
func Merge(a, b State) State {
	out := Clone(a)
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

// Lowered says which key next would take back below cur's Highest (nil:
// none does).
func Lowered(cur, next State) error {
	for k, v := range cur.Highest {
		if next.Highest[k] < v {
			return fmt.Errorf("store: fleet: the highest version of %s would go back from %d to %d", k, v, next.Highest[k])
		}
	}
	return nil
}

// Read reads the file at path; a missing file is the zero State.
func Read(path string) (State, error) {
	var st State
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

// Write writes st to the file at path and fsyncs it.
func Write(path string, st State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileSync(path, b, 0o600); err != nil {
		return fmt.Errorf("store: fleet mark %s: %w", path, err)
	}
	return nil
}
