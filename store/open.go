package store

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/posagent/posagent/store/check"
	"github.com/posagent/posagent/store/hwm"
	"github.com/posagent/posagent/store/record"
	"github.com/posagent/posagent/store/seal"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var (
	keySchema    = record.KeySchema
	keyJournalID = record.KeyJournalID
	gapPrefix    = record.GapPrefix
)

// Inspect checks the journal at path as Open will use it, without
// modifying anything (check.Inspect): CheckFile, plus its high-water mark
// (Report.Mark, Report.Rollback) and its data keys.
func Inspect(path string, opt CheckOptions) (*Report, error) { return check.Inspect(path, opt) }

func inspect(path string, opt CheckOptions) (*Report, *check.Codes, error) {
	return check.Before(path, opt, false, 0)
}

// Options configure Open. The zero value is usable.
type Options struct {
	// LockTimeout is how long Open waits for another process to release
	// the file. Zero means the default (1 s); it never means "forever".
	LockTimeout time.Duration
	// NoSync disables fsync (tests and benchmarks only: a crash loses data).
	NoSync bool
	// OnCommit receives the events appended by each committed Update, in
	// sequence order, after the commit and before Update returns. Calls
	// are serialised.
	OnCommit func(events []Event)
	Logger   *slog.Logger
	// Clock is the time source (key ages, backups); nil means time.Now.
	Clock func() time.Time
	// KeyRotation is the age at which RotateKeys makes a new data key for
	// payment codes (default 24 h).
	KeyRotation time.Duration
	// CompactFree: Open rewrites the journal into a fresh file
	// (CompactFile) when its free pages take this many bytes and at least
	// half the file (0: DefaultCompactFree; negative: never).
	CompactFree int64
	// FullCheckBelow: a journal whose pages in use take less than this is
	// checked in full before every start; a larger one, once a full check
	// verified it, gets the quick check and RunCheck checks the rest (0:
	// DefaultFullCheckBelow; negative: the quick check at any size).
	FullCheckBelow int64
	// FullCheck: always check in full before use (no quick check).
	FullCheck bool
	// GuardRetention: Compact removes a final payment and its events
	// only once they are in a Z report, in a verified scheduled backup and,
	// when a back-office feed registered (Tx.SetFeedAck), acknowledged by
	// it (retention.go). The agent sets it; without it Compact goes by age.
	GuardRetention bool
}

// Open checks the journal at path (Inspect) and opens it, creating it if
// needed. Nothing is written to a journal that is damaged (DamageError,
// errors.Is ErrCorrupt) or behind its high-water mark (RollbackError,
// errors.Is ErrRolledBack). Warnings (Report.Warnings) are logged.
func Open(path string, opts Options) (*Store, error) {
	s, _, err := openJournal(path, opts, nil)
	return s, err
}

// OpenReport is Open, also returning what the check before it found (the
// warnings to show a technician).
func OpenReport(path string, opts Options) (*Store, *Report, error) {
	return openJournal(path, opts, nil)
}

// acceptFn runs in Open's first transaction when a rollback is accepted.
type acceptFn func(t *Tx, rep *Report) error

func openJournal(path string, opts Options, accept acceptFn) (s *Store, rep *Report, err error) {
	opts = opts.withDefaults()
	rep, codes, err := checkBeforeOpen(path, opts, accept)
	if err != nil {
		return nil, rep, err
	}
	if err := RefuseArchive(path, rep); err != nil {
		return nil, rep, err
	}
	keys, err := seal.Load(KeysPath(path))
	if err != nil {
		return nil, rep, err
	}
	if err := keys.Ensure(opts.Clock()); err != nil {
		return nil, rep, fmt.Errorf("store: open %s: %w", path, err)
	}
	db, err := boltOpen(path, opts)
	if err != nil {
		return nil, rep, err
	}
	if accept == nil && compactAtStart(db, path, opts) {
		opts.CompactFree = -1
		return openJournal(path, opts, accept)
	}
	s = &Store{path: path, onCommit: opts.OnCommit, log: opts.Logger, keys: keys, clock: opts.Clock, keyEvery: opts.KeyRotation}
	s.cur.Store(newDBRef(db))
	s.noSync = opts.NoSync
	s.guardRetention = opts.GuardRetention
	s.lastCommit.Store(s.now().UnixNano())
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	var txid, seq uint64
	clearCodes := codes != nil && codes.Clear
	err = db.Update(func(btx *bolt.Tx) error {
		t := &Tx{tx: btx, keys: keys}
		if err := t.prepare(clearCodes); err != nil {
			return err
		}
		if accept != nil {
			if err := accept(t, rep); err != nil {
				return err
			}
		}
		s.id = string(btx.Bucket(bMeta).Get(keyJournalID))
		txid, seq = uint64(btx.ID()), btx.Bucket(bEvents).Sequence()
		return nil
	})
	if err != nil {
		return nil, rep, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := s.startMark(rep, txid, seq); err != nil {
		return nil, rep, err
	}
	return s, rep, nil
}

// withDefaults fills the zero fields Open needs.
func (o Options) withDefaults() Options {
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.KeyRotation <= 0 {
		o.KeyRotation = 24 * time.Hour
	}
	if o.FullCheckBelow == 0 {
		o.FullCheckBelow = DefaultFullCheckBelow
	}
	return o
}

// checkBeforeOpen checks the journal (quick or full: inspectWith) and
// refuses a damaged one, or one behind its mark unless accept is set; it
// logs the warnings.
func checkBeforeOpen(path string, opts Options, accept acceptFn) (*Report, *check.Codes, error) {
	quick := accept == nil && !opts.FullCheck
	rep, codes, err := check.Before(path, CheckOptions{LockTimeout: opts.LockTimeout}, quick, max(opts.FullCheckBelow, 0))
	if errors.Is(err, ErrLocked) {
		return nil, nil, fmt.Errorf("%w: %s is in use by another posagent (already running?)", ErrLocked, path)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if rep.Damaged() {
		return rep, nil, &DamageError{Report: rep}
	}
	if rep.Rollback != nil && accept == nil {
		return rep, nil, &RollbackError{Path: path, Rollback: rep.Rollback}
	}
	for _, w := range rep.Warnings() {
		opts.Logger.Warn("store: journal: "+w.String(), "journal", path)
	}
	return rep, codes, nil
}

// compactAtStart rewrites the journal into a fresh file (CompactFile) when
// its free pages take opts.CompactFree bytes and half its pages; it closes
// db and reports true when it tried (the journal must be opened again).
func compactAtStart(db *bolt.DB, path string, opts Options) bool {
	lim := opts.CompactFree
	if lim < 0 {
		return false
	}
	if lim == 0 {
		lim = DefaultCompactFree
	}
	free := int64(db.Stats().FreePageN) * int64(db.Info().PageSize)
	var size int64 // the pages below bbolt's high-water mark
	db.View(func(tx *bolt.Tx) error { size = tx.Size(); return nil })
	if free < lim || 2*free < size {
		return false
	}
	db.Close()
	opts.CompactFree = -1
	res, err := CompactFile(path, opts)
	if err != nil {
		opts.Logger.Warn("store: journal: compaction at start failed; the journal is used as it is", "journal", path, "free_bytes", free, "err", err)
	} else {
		opts.Logger.Info("store: journal: compacted at start", "journal", path, "size_before", res.Before, "size_after", res.After)
	}
	return true
}

// prepare is Open's first transaction: every bucket, the format and the
// journal's id, the indexes and counters when missing, codes in clear
// sealed.
func (t *Tx) prepare(clearCodes bool) error {
	for _, b := range allBkts {
		if _, err := t.tx.CreateBucketIfNotExists(b); err != nil {
			return err
		}
	}
	m := t.tx.Bucket(bMeta)
	if v := m.Get(keySchema); v == nil {
		if err := m.Put(keySchema, u64(SchemaVersion)); err != nil {
			return err
		}
	}
	if m.Get(keyJournalID) == nil {
		id := make([]byte, 8)
		rand.Read(id)
		if err := m.Put(keyJournalID, []byte(hex.EncodeToString(id))); err != nil {
			return err
		}
	}
	if m.Get(kIndex) == nil {
		// A journal from before the payment indexes, or salvaged.
		if err := t.buildIndexes(); err != nil {
			return err
		}
	}
	if _, err := t.statsBucket(); err != nil { // once per journal
		return err
	}
	if _, err := t.auditBucket(); err != nil { // once per journal
		return err
	}
	if clearCodes {
		return t.sealClearCodes()
	}
	return nil
}

// startMark opens the high-water mark, writes the journal's state after
// Open's transaction (txid, seq) with the verified state, and starts its
// flusher.
func (s *Store) startMark(rep *Report, txid, seq uint64) error {
	var gen uint64
	if rep.Mark != nil {
		gen = rep.Mark.Gen
	}
	mf, err := hwm.Open(MarkPath(s.path), gen, s.startCheck(rep))
	if err != nil {
		return err
	}
	if err := mf.Write(Mark{JournalID: s.id, Seq: seq, TxID: txid, At: s.now()}); err != nil {
		mf.Discard()
		return err
	}
	s.mark = mf
	go mf.Run()
	return nil
}

// boltOpen opens the checked file read-write; a panic or fault from
// bbolt on a file the check passed becomes an error.
func boltOpen(path string, opts Options) (db *bolt.DB, err error) {
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("%w: %s: bbolt could not read it (%v); the file was not modified", ErrCorrupt, path, r)
		}
	}()
	before, _ := os.Stat(path)
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.LockTimeout, NoSync: opts.NoSync, PreLoadFreelist: true})
	if err != nil {
		switch {
		case errors.Is(err, berrors.ErrTimeout):
			return nil, fmt.Errorf("%w: %s is in use by another posagent (already running?)", ErrLocked, path)
		case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch):
			return nil, fmt.Errorf("%w: %s: %v (the file was not modified)", ErrCorrupt, path, err)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// The lock is on the file opened; CompactFile renames a new file into
	// place while holding the old one's lock, so a process that waited for
	// that lock would hold a file no longer at path. bbolt opened the file
	// at path before or after its open: the same file on both sides is the
	// file it opened (a new file, before had no file, is nobody's rename).
	if before != nil {
		if cur, err := os.Stat(path); err != nil || !os.SameFile(before, cur) {
			db.Close()
			return nil, fmt.Errorf("%w: %s was replaced while this posagent waited for it (a compaction); start again", ErrLocked, path)
		}
	}
	return db, nil
}

// sealClearCodes rewrites payments that hold a code in clear (journals
// written before codes were sealed): open ones sealed, final ones without.
func (t *Tx) sealClearCodes() error {
	var ps []*Payment
	err := t.tx.Bucket(bPayments).ForEach(func(k, v []byte) error {
		r, err := decodePayment(v)
		if err == nil && r.AuthCode != "" {
			r.Payment.AuthCode = r.AuthCode
			ps = append(ps, r.Payment)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range ps {
		if err := t.PutPayment(p); err != nil {
			return err
		}
	}
	return nil
}

// recordGap notes that event sequences [from, to] were lost with a
// technician's consent, so the check does not report them.
func (t *Tx) recordGap(from, to uint64) error {
	t.wrote = true
	if to < from {
		return nil
	}
	return t.tx.Bucket(bMeta).Put([]byte(gapPrefix+string(u64(from))), u64(to))
}

// SkipTo moves the event sequence up to at least seq (recording the gap),
// so that no sequence a client has seen is ever used again: a journal put
// back (store/offline) goes past every sequence its mark announced.
func (t *Tx) SkipTo(seq uint64) error {
	t.wrote = true
	b := t.tx.Bucket(bEvents)
	cur := b.Sequence()
	if seq <= cur {
		return nil
	}
	if err := t.recordGap(cur+1, seq); err != nil {
		return err
	}
	return b.SetSequence(seq)
}

// JournalEvent appends a journal.* event (technician actions on the file:
// a restore, an accepted rollback, a compaction).
func (t *Tx) JournalEvent(kind string, at time.Time, detail map[string]any) (uint64, error) {
	return t.AppendEvent(func(seq uint64) ([]byte, error) {
		return json.Marshal(map[string]any{"seq": seq, "kind": kind, "at": at.UTC(), "journal": detail})
	})
}

// OpenAccepting opens the journal at path for a tool run with the agent
// stopped (package store/offline): like OpenReport, but a journal behind
// its high-water mark is opened (a damaged one is still refused), it is
// not compacted at start, and accept runs in the first transaction, before
// anything else writes, with the check's report. accept records what the
// tool did (Tx.JournalEvent) and moves the event sequence past what the
// mark announced (Tx.SkipTo); the mark follows the commit.
func OpenAccepting(path string, opts Options, accept func(t *Tx, rep *Report) error) (*Store, *Report, error) {
	if accept == nil {
		return nil, nil, errors.New("store: OpenAccepting needs accept")
	}
	return openJournal(path, opts, accept)
}

func (o Options) clockNow() time.Time {
	if o.Clock == nil {
		return time.Now()
	}
	return o.Clock()
}

func (s *Store) now() time.Time { return s.clock() }

// JournalID is the journal's id (meta journal_id), made at its creation.
func (s *Store) JournalID() string { return s.id }

// Now is the journal's clock (Options.Clock), for what others journal
// through its exported API (store/feedmark's feed_epoch event).
func (s *Store) Now() time.Time { return s.clock() }
