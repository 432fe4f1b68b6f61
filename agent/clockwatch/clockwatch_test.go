package clockwatch

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/store"
)

// fakeClock is a wall clock and a monotonic one that a test moves apart.
type fakeClock struct {
	wall time.Time
	mono time.Duration
}

func (c *fakeClock) step(d time.Duration) { c.wall, c.mono = c.wall.Add(d), c.mono+d }

func newWatch(c *fakeClock, newest time.Time, jumps *[]time.Duration) *Watch {
	return New(Options{Now: func() time.Time { return c.wall }, Mono: func() time.Duration { return c.mono },
		NotBefore: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), Newest: newest,
		OnJump: func(j time.Duration) { *jumps = append(*jumps, j) }})
}

// A drift under Tolerance is no jump; a step of the wall clock alone is
// one, counted, handed to OnJump, and holds the next compaction once.
func TestWatchSeesJumps(t *testing.T) {
	c := &fakeClock{wall: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	var jumps []time.Duration
	w := newWatch(c, time.Time{}, &jumps)
	c.step(time.Minute)
	c.wall = c.wall.Add(Tolerance - time.Millisecond) // drift, not a jump
	w.Check()
	if w.Jumps() != 0 || len(jumps) != 0 {
		t.Fatalf("a drift under %s counted as a jump: %d %v", Tolerance, w.Jumps(), jumps)
	}
	if why := w.CompactionHeld(); why != "" {
		t.Fatalf("compaction held without a jump: %s", why)
	}
	c.wall = c.wall.Add(-time.Hour) // NTP steps the wall clock back
	w.Check()
	if w.Jumps() != 1 || len(jumps) != 1 || jumps[0] > -time.Hour+Tolerance || jumps[0] < -time.Hour-Tolerance {
		t.Fatalf("a step back of 1h: %d jumps, OnJump %v", w.Jumps(), jumps)
	}
	w.Check() // the new offset is the reference now
	if w.Jumps() != 1 {
		t.Fatalf("one jump counted %d times", w.Jumps())
	}
	if why := w.CompactionHeld(); !strings.Contains(why, "jumped") {
		t.Fatalf("compaction after a jump: held %q", why)
	}
	if why := w.CompactionHeld(); why != "" {
		t.Fatalf("the hold outlived one compaction: %q", why)
	}
}

// The wall clock is not believed before the build, nor behind the newest
// journal record by more than Slack.
func TestWatchProblem(t *testing.T) {
	newest := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	var jumps []time.Duration
	for _, c := range []struct {
		name string
		wall time.Time
		want string
	}{
		{"true", newest.Add(time.Minute), ""},
		{"a little behind", newest.Add(-Slack + time.Second), ""},
		{"behind the journal", newest.Add(-Slack - time.Second), "earlier than the newest journal record"},
		{"before the build", time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), "earlier than this posagent was built"},
	} {
		w := newWatch(&fakeClock{wall: c.wall}, newest, &jumps)
		if got := w.Problem(); (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("%s: Problem() = %q, want %q", c.name, got, c.want)
		}
	}
	w := newWatch(&fakeClock{wall: newest}, newest, &jumps)
	w.NoteStamp(newest.Add(time.Hour))
	w.NoteStamp(newest) // older: ignored
	if !w.Newest().Equal(newest.Add(time.Hour)) {
		t.Errorf("Newest %s, want the newest stamp noted", w.Newest())
	}
}

// A start long after the newest record is kept as a possible jump, and
// every jump forward moves the compaction cutoff back by its size.
func TestStartGapAndCutoff(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "posagent.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	newest := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	now := newest.Add(3 * time.Hour)
	var jumps []time.Duration
	w := newWatch(&fakeClock{wall: now}, newest, &jumps)
	if err := w.StartGap(st); err != nil {
		t.Fatal(err)
	}
	keep := 24 * time.Hour
	c, err := Cutoff(st, now, keep, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := now.Add(-keep - 3*time.Hour); !c.Equal(want) {
		t.Errorf("cutoff %s, want %s (moved back by the 3h gap)", c, want)
	}
	// A short gap is no jump.
	w2 := newWatch(&fakeClock{wall: newest.Add(GapTolerance)}, newest, &jumps)
	if err := w2.StartGap(st); err != nil {
		t.Fatal(err)
	}
	if c2, _ := Cutoff(st, now, keep, false); !c2.Equal(c) {
		t.Errorf("a gap of %s moved the cutoff to %s", GapTolerance, c2)
	}
	// Pruned once no record kept could be that old.
	if _, err := Cutoff(st, now.Add(400*24*time.Hour), keep, true); err != nil {
		t.Fatal(err)
	}
	if c3, _ := Cutoff(st, now, keep, false); !c3.Equal(now.Add(-keep)) {
		t.Errorf("after pruning, cutoff %s, want %s", c3, now.Add(-keep))
	}
}
