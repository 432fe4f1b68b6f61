package check

import (
	"os"

	"github.com/posagent/posagent/store/hwm"
)

// Codes is what a check read of the payments' codes: what Open needs to
// know about the data keys (store/seal) before it uses the journal.
type Codes struct {
	// Clear: a payment read holds its code in clear (a journal written
	// before codes were sealed).
	Clear bool
	// Need counts, by data key, the open payments read whose sealed code
	// needs that key.
	Need map[uint32]int
}

// codes sums what the walk read of the payments' codes.
func (inv *inventory) codes() *Codes {
	c := &Codes{Need: map[uint32]int{}}
	for _, p := range inv.payments {
		c.Clear = c.Clear || p.clear
		if p.keyID != 0 && !p.final {
			c.Need[p.keyID]++
		}
	}
	return c
}

// content checks the records of the journal file at path, without
// modifying it. With v, a state of the journal a full check verified (the
// high-water mark's Mark.Verified), a journal whose pages in use take
// fullBelow bytes or more gets the quick check of what the start reads
// (quickcheck.go); any other, and one in which the quick check finds
// damage, gets the full check (CheckFile), whose
// findings are the ones reported. codes is nil when the check could not
// read the records (no valid meta page, a truncated file).
func content(path string, opt Options, v *hwm.Verified, fullBelow int64) (rep *Report, codes *Codes, err error) {
	var inv *inventory
	full := true
	if v != nil {
		rep, inv, full, err = quickCheck(path, opt, v, fullBelow)
		full = full || (err == nil && rep.Damaged())
	}
	if full {
		rep, inv, err = checkFile(path, opt, false)
	}
	if inv != nil {
		codes = inv.codes()
	}
	return rep, codes, err
}

// Quick is the quick check alone (quickcheck.go): full is true when the
// journal must be checked in full instead (smaller than fullBelow, not
// indexed, or not past v).
func Quick(path string, opt Options, v *hwm.Verified, fullBelow int64) (rep *Report, full bool, err error) {
	rep, _, full, err = quickCheck(path, opt, v, fullBelow)
	return rep, full, err
}

// checkFile is CheckFile, also returning what the walk read.
func checkFile(path string, opt Options, keep bool) (*Report, *inventory, error) {
	var inv *inventory
	rep, err := checkFileWith(path, opt, true, func(f *os.File, rep *Report) {
		inv = checkRawKeep(f, rep, keep)
	})
	return rep, inv, err
}
