package archive

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
)

// appendFull packs the pages of buckets only ever appended to (the events,
// the audit index), as the journal does.
const appendFull = 1.0

// archiveBatch is how many records one transaction of the archive writes
// (bbolt keeps a transaction's pages in memory until it commits).
const archiveBatch = 20000

// Result says what Archive wrote.
type Result struct {
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
	Check *check.Report
}

// Archive writes the history of the journal file at path from before
// before into a new archive file out (which must not exist). The journal is
// checked first (a damaged one is refused: salvage it) and only read, from
// one read-only transaction; it must not be held by a running agent
// (ErrLocked after opt.LockTimeout). out is written to a temporary file
// beside it, fsynced, checked and compared with what was written, then
// renamed into place and its directory fsynced: when Archive returns no
// error, out is a verified archive; otherwise there is no out.
func Archive(path, out string, before time.Time, opt check.Options) (*Result, error) {
	if before.IsZero() {
		return nil, errors.New("store: archive: no date to archive before")
	}
	if _, err := os.Lstat(out); err == nil {
		return nil, fmt.Errorf("store: archive to %s: the file exists; choose a new name", out)
	}
	src, err := check.OpenReadOnly(path, opt)
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
	res := &Result{From: path, To: out, Before: before}
	if err := src.View(func(tx *bolt.Tx) error { return writeArchive(tx, tmp.Name(), before, res) }); err != nil {
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
func verifyArchive(p string, res *Result) error {
	rep, err := check.CheckFile(p, check.Options{})
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
func writeArchive(src *bolt.Tx, p string, before time.Time, res *Result) error {
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
	if bytes.Equal(b, record.BucketEvents) || bytes.Equal(b, record.BucketAuditAt) {
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
		for _, b := range append(record.CoreBuckets[:len(record.CoreBuckets):len(record.CoreBuckets)], record.BucketAuditAt) {
			if _, err := tx.CreateBucket(b); err != nil {
				return err
			}
		}
		rnd := make([]byte, 8)
		if _, err := rand.Read(rnd); err != nil {
			return err
		}
		id := []byte(hex.EncodeToString(rnd))
		m := tx.Bucket(record.BucketMeta)
		at, _ := time.Now().UTC().MarshalText()
		bt, _ := before.UTC().MarshalText()
		of := bytes.Clone(src.Bucket(record.BucketMeta).Get(record.KeyJournalID))
		for _, kv := range [][2][]byte{{record.KeySchema, record.U64(record.SchemaVersion)}, {record.KeyJournalID, id}, {record.KeyArchiveOf, of}, {record.KeyArchiveBefore, bt}, {record.KeyArchiveAt, at}} {
			if err := m.Put(kv[0], kv[1]); err != nil {
				return err
			}
		}
		// The gaps the journal accepted: its events have them too.
		c := src.Bucket(record.BucketMeta).Cursor()
		for k, v := c.Seek([]byte(record.GapPrefix)); k != nil && strings.HasPrefix(string(k), record.GapPrefix); k, v = c.Next() {
			if err := m.Put(bytes.Clone(k), bytes.Clone(v)); err != nil {
				return err
			}
		}
		return nil
	})
}

// payments copies the final payments created before before, with their
// order ids.
func (aw *archiveWriter) payments(src *bolt.Tx, before time.Time, res *Result) error {
	end := []byte(record.IDAt(before))
	c := src.Bucket(record.BucketPayments).Cursor()
	for k, v := c.First(); k != nil && bytes.Compare(k, end) < 0; k, v = c.Next() {
		r, err := record.DecodePayment(v)
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
		if err := aw.put(record.BucketPayments, k, v); err != nil {
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
			if err := aw.put(record.BucketOrders, []byte(oid), k); err != nil {
				return err
			}
			res.Orders++
		}
	}
	return nil
}

// archivable: the payment and each of its refunds are final.
func archivable(p *record.Payment) bool {
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
func (aw *archiveWriter) events(src *bolt.Tx, before time.Time, res *Result) error {
	eb := src.Bucket(record.BucketEvents)
	r := record.NewEventReader(func(seq uint64) []byte { return eb.Get(record.U64(seq)) })
	c := eb.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		seq := binary.BigEndian.Uint64(k)
		full, err := r.Full(seq, v)
		if err != nil {
			return err
		}
		var h record.EventHead
		if err := json.Unmarshal(full, &h); err != nil {
			return fmt.Errorf("event %d: %w", seq, err)
		}
		if !h.At.IsZero() && !h.At.Before(before) {
			break // events are in time order
		}
		if err := aw.put(record.BucketEvents, k, full); err != nil {
			return err
		}
		if h.Kind == record.KindAudit {
			if err := aw.put(record.BucketAuditAt, record.AuditKey(h.At, seq), nil); err != nil {
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
	return aw.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(record.BucketEvents).SetSequence(res.LastEvent) })
}
