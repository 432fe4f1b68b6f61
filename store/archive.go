package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/posagent/posagent/store/check"
	"github.com/posagent/posagent/store/internal/fsutil"
	"github.com/posagent/posagent/store/record"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// An archive is a journal-format file (the same buckets and records) that
// holds a journal's history before a date, outside the live journal:
//
//   - the final payments created before it (a payment whose state or one of
//     whose refunds is not final yet is left out and counted), as stored,
//     with their order ids in the order index;
//   - the events stamped before it, oldest first up to the first one that
//     is not (events are in time order; retention removes them the same
//     way), each written whole, with the audit index of the audit events
//     among them and the gaps the journal accepted;
//   - in the meta bucket: the journal format, a journal id of its own, and
//     archive/of (the journal's id), archive/before and archive/at.
//
// Archive only reads the journal: what leaves the live journal is for
// guarded retention (retention.go) to remove. CheckFile verifies an archive
// like any journal; OpenReader reads it (posagent export --archive).

var (
	kArchiveOf     = record.KeyArchiveOf
	kArchiveBefore = record.KeyArchiveBefore
	kArchiveAt     = record.KeyArchiveAt
)

// archiveBatch is how many records one transaction of the archive writes
// (bbolt keeps a transaction's pages in memory until it commits).
const archiveBatch = 20000

// ArchiveResult says what Archive wrote.
type ArchiveResult struct {
	From, To string
	Before   time.Time
	// Payments, Orders and Events are the records written.
	Payments, Orders, Events int
	// FirstEvent and LastEvent are the sequences of the events written.
	FirstEvent, LastEvent uint64
	// NotFinal counts the payments created before Before left out: they,
	// or one of their refunds, are not final yet.
	NotFinal int
	// Check is the check of the archive, made before Archive returned.
	Check *Report
}

// Archive writes the history of the journal file at path from before
// before into a new archive file out (which must not exist). The journal is
// checked first (a damaged one is refused: salvage it) and only read, from
// one read-only transaction; it must not be held by a running agent
// (ErrLocked after opt.LockTimeout). out is written to a temporary file
// beside it, fsynced, checked and compared with what was written, then
// renamed into place and its directory fsynced: when Archive returns no
// error, out is a verified archive; otherwise there is no out.
func Archive(path, out string, before time.Time, opt CheckOptions) (*ArchiveResult, error) {
	if before.IsZero() {
		return nil, errors.New("store: archive: no date to archive before")
	}
	if _, err := os.Lstat(out); err == nil {
		return nil, fmt.Errorf("store: archive to %s: the file exists; choose a new name", out)
	}
	src, err := OpenReader(path, opt)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("store: archive to %s: %w", out, err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	res := &ArchiveResult{From: path, To: out, Before: before}
	if err := src.db.View(func(tx *bolt.Tx) error { return writeArchive(tx, tmp.Name(), before, res) }); err != nil {
		return nil, fmt.Errorf("store: archive to %s: %w", out, err)
	}
	if err := verifyArchive(tmp.Name(), res); err != nil {
		return res, fmt.Errorf("store: archive to %s: %w; nothing was written", out, err)
	}
	if _, err := os.Lstat(out); err == nil {
		return nil, fmt.Errorf("store: archive to %s: the file appeared meanwhile; choose a new name", out)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return nil, fmt.Errorf("store: archive to %s: %w", out, err)
	}
	if err := fsutil.SyncDir(filepath.Dir(out)); err != nil {
		return nil, fmt.Errorf("store: archive to %s: %w", out, err)
	}
	res.Check.Path = out
	return res, nil
}

// verifyArchive checks the archive at p and compares its counts with what
// was written.
func verifyArchive(p string, res *ArchiveResult) error {
	rep, err := check.CheckFile(p, CheckOptions{})
	if err != nil {
		return fmt.Errorf("check the archive: %w", err)
	}
	res.Check = rep
	if rep.Damaged() {
		var dmg []string
		for _, f := range rep.Findings {
			if f.Damage && len(dmg) < 3 {
				dmg = append(dmg, f.String())
			}
		}
		return fmt.Errorf("the archive written does not check clean (%s): report this as a bug, with posagent journal check on the journal", strings.Join(dmg, "; "))
	}
	if rep.Payments != res.Payments || rep.Events != res.Events || rep.Orders != res.Orders || rep.LastSeq != res.LastEvent {
		return fmt.Errorf("the archive holds %d payments, %d order ids and %d events (last #%d), %d, %d and %d (last #%d) were written",
			rep.Payments, rep.Orders, rep.Events, rep.LastSeq, res.Payments, res.Orders, res.Events, res.LastEvent)
	}
	return nil
}

// writeArchive writes what the archive holds from the journal's read
// transaction src into the new bbolt file p, fsynced at each commit.
func writeArchive(src *bolt.Tx, p string, before time.Time, res *ArchiveResult) error {
	db, err := bolt.Open(p, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return err
	}
	aw := &archiveWriter{db: db}
	err = aw.header(src, before)
	if err == nil {
		err = aw.payments(src, before, res)
	}
	if err == nil {
		err = aw.events(src, before, res)
	}
	if err == nil {
		err = aw.flush()
	}
	if aw.tx != nil {
		aw.tx.Rollback() // a failure mid-batch: bbolt closes no file with a writer open
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

// archiveWriter writes records in transactions of archiveBatch records.
type archiveWriter struct {
	db *bolt.DB
	tx *bolt.Tx
	n  int
}

// put writes k=v into bucket b, committing every archiveBatch records.
func (aw *archiveWriter) put(b, k, v []byte) error {
	if aw.tx == nil {
		tx, err := aw.db.Begin(true)
		if err != nil {
			return err
		}
		aw.tx, aw.n = tx, 0
	}
	bk := aw.tx.Bucket(b)
	if bytes.Equal(b, bEvents) || bytes.Equal(b, bAuditAt) {
		bk.FillPercent = appendFull
	}
	if err := bk.Put(k, v); err != nil {
		return err
	}
	if aw.n++; aw.n >= archiveBatch {
		return aw.flush()
	}
	return nil
}

// flush commits the open transaction.
func (aw *archiveWriter) flush() error {
	if aw.tx == nil {
		return nil
	}
	tx := aw.tx
	aw.tx = nil
	return tx.Commit()
}

// header creates the buckets and writes the meta records.
func (aw *archiveWriter) header(src *bolt.Tx, before time.Time) error {
	return aw.db.Update(func(tx *bolt.Tx) error {
		for _, b := range append(allBkts[:len(allBkts):len(allBkts)], bAuditAt) {
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		rnd := make([]byte, 8)
		if _, err := rand.Read(rnd); err != nil {
			return err
		}
		id := []byte(hex.EncodeToString(rnd))
		m := tx.Bucket(bMeta)
		at, _ := time.Now().UTC().MarshalText()
		bt, _ := before.UTC().MarshalText()
		of := bytes.Clone(src.Bucket(bMeta).Get(keyJournalID))
		for _, kv := range [][2][]byte{{keySchema, u64(SchemaVersion)}, {keyJournalID, id}, {kArchiveOf, of}, {kArchiveBefore, bt}, {kArchiveAt, at}} {
			if err := m.Put(kv[0], kv[1]); err != nil {
				return err
			}
		}
		// The gaps the journal accepted: its events have them too.
		c := src.Bucket(bMeta).Cursor()
		for k, v := c.Seek([]byte(gapPrefix)); k != nil && strings.HasPrefix(string(k), gapPrefix); k, v = c.Next() {
			if err := m.Put(bytes.Clone(k), bytes.Clone(v)); err != nil {
				return err
			}
		}
		return nil
	})
}

// payments copies the final payments created before before, with their
// order ids.
func (aw *archiveWriter) payments(src *bolt.Tx, before time.Time, res *ArchiveResult) error {
	end := []byte(IDAt(before))
	c := src.Bucket(bPayments).Cursor()
	for k, v := c.First(); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
		r, err := decodePayment(v)
		if err != nil {
			return fmt.Errorf("payment %s: %w", k, err)
		}
		p := r.Payment
		if !p.CreatedAt.Before(before) {
			continue
		}
		if !archivable(p) {
			res.NotFinal++
			continue
		}
		if err := aw.put(bPayments, k, v); err != nil {
			return err
		}
		res.Payments++
		oids := []string{p.OrderID}
		for _, rf := range p.Refunds {
			oids = append(oids, rf.OrderID)
		}
		for _, oid := range oids {
			if oid == "" {
				continue
			}
			if err := aw.put(bOrders, []byte(oid), k); err != nil {
				return err
			}
			res.Orders++
		}
	}
	return nil
}

// archivable: the payment and each of its refunds are final.
func archivable(p *Payment) bool {
	if !p.State.Final() {
		return false
	}
	for _, r := range p.Refunds {
		if !r.State.Final() {
			return false
		}
	}
	return true
}

// events copies the events stamped before before, whole, with the audit
// index of the audit events, and sets the event sequence to the last.
func (aw *archiveWriter) events(src *bolt.Tx, before time.Time, res *ArchiveResult) error {
	eb := src.Bucket(bEvents)
	r := newEventReader(func(seq uint64) []byte { return eb.Get(u64(seq)) })
	c := eb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		seq := binary.BigEndian.Uint64(k)
		full, err := r.Full(seq, v)
		if err != nil {
			return err
		}
		var h eventHead
		if err := json.Unmarshal(full, &h); err != nil {
			return fmt.Errorf("event %d: %w", seq, err)
		}
		if !h.At.IsZero() && !h.At.Before(before) {
			break // events are in time order
		}
		if err := aw.put(bEvents, k, full); err != nil {
			return err
		}
		if h.Kind == KindAudit {
			if err := aw.put(bAuditAt, auditKey(h.At, seq), nil); err != nil {
				return err
			}
		}
		if res.Events == 0 {
			res.FirstEvent = seq
		}
		res.Events++
		res.LastEvent = seq
	}
	if err := aw.flush(); err != nil {
		return err
	}
	return aw.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bEvents).SetSequence(res.LastEvent) })
}

// ErrArchive: the file is an archive; the agent does not run on one (nor
// is one restored in place of the journal).
var ErrArchive = errors.New("store: an archive, not a live journal")

// refuseArchive refuses a file its check found to be an archive.
func refuseArchive(path string, rep *Report) error {
	if rep == nil || rep.ArchiveBefore == nil {
		return nil
	}
	return fmt.Errorf("%w: %s holds the history before %s written by posagent journal archive; read it with posagent export --archive %s",
		ErrArchive, path, rep.ArchiveBefore.Format(time.RFC3339Nano), path)
}

// archivedBefore decodes meta archive/before (nil: none).
func archivedBefore(v []byte) *time.Time { return record.ArchivedBefore(v) }

// Reader reads a journal file no process holds (an archive, a backup),
// read-only.
type Reader struct {
	db *bolt.DB
}

// OpenReader checks the journal file at path (a damaged one gives a
// *DamageError) and opens it read-only. A file a running agent holds gives
// ErrLocked after opt.LockTimeout.
func OpenReader(path string, opt CheckOptions) (*Reader, error) {
	if opt.LockTimeout <= 0 {
		opt.LockTimeout = time.Second
	}
	rep, err := check.CheckFile(path, opt)
	if err != nil {
		return nil, err
	}
	if rep.Damaged() {
		return nil, &DamageError{Report: rep}
	}
	if rep.Empty {
		return nil, fmt.Errorf("store: open %s: the file is empty (0 bytes): it holds no journal", path)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: opt.LockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("store: open %s: %w", path, ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := db.View(func(tx *bolt.Tx) error {
		for _, b := range allBkts {
			if tx.Bucket(b) == nil {
				return fmt.Errorf("store: open %s: not a journal (no %s bucket)", path, b)
			}
		}
		return nil
	}); err != nil {
		db.Close()
		return nil, err
	}
	return &Reader{db: db}, nil
}

// View runs fn in a read-only transaction. Payment codes are not opened
// (a Reader has no data keys).
func (r *Reader) View(fn func(tx *Tx) error) error {
	return r.db.View(func(btx *bolt.Tx) error { return fn(&Tx{tx: btx}) })
}

// ArchivedBefore is the time an archive holds the history before (zero:
// the file is not an archive).
func (t *Tx) ArchivedBefore() time.Time {
	if at := archivedBefore(t.tx.Bucket(bMeta).Get(kArchiveBefore)); at != nil {
		return *at
	}
	return time.Time{}
}

// Close closes the file.
func (r *Reader) Close() error { return r.db.Close() }
