package printer

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"
	"time"
)

// maxJobIDLen bounds a job id (the bridge protocol's limit on ids).
const maxJobIDLen = 128

// A JobSender takes whole print jobs and answers each: nil once the job
// is printed (acknowledged). Retries of one job carry the same id, so a
// sender that remembers the ids it printed prints a job once. The Android
// bridge's hub (package drivers/bridge) is one.
type JobSender interface {
	SendJob(ctx context.Context, id string, data []byte) error
}

// JobPrinter prints receipts as jobs on a JobSender: it names the job
// (JobID), encodes the receipt (Encode: ESC/POS for a Sunmi, a PNG for a
// Clover) and sends it. It is a ReceiptPrinter.
type JobPrinter struct {
	Sender JobSender
	Encode func(Receipt) ([]byte, error)
}

var _ ReceiptPrinter = JobPrinter{}

// PrintReceipt prints r as the job JobID(r) and returns the sender's answer.
func (p JobPrinter) PrintReceipt(ctx context.Context, r Receipt) error {
	id, err := JobID(r)
	if err != nil {
		return err
	}
	return p.PrintReceiptJob(ctx, id, r)
}

// PrintReceiptJob is PrintReceipt with the caller's job id (for example
// the outbox job's id, which tells reprints apart). Retries of one job
// must use the same id.
func (p JobPrinter) PrintReceiptJob(ctx context.Context, id string, r Receipt) error {
	if p.Encode == nil {
		return fmt.Errorf("printer: print job %s: no receipt encoder configured", id)
	}
	data, err := p.Encode(r)
	if err != nil {
		return fmt.Errorf("printer: print job %s: encode: %w", id, err)
	}
	if len(data) == 0 {
		return fmt.Errorf("printer: print job %s: encoder returned no data", id)
	}
	return p.Sender.SendJob(ctx, id, data)
}

// JobID derives the job id of a receipt print job from its JobKey when
// set ("rcpt:<job key>:<copy>"), else from the receipt itself, so that the
// engine's outbox retrying the same receipt sends the same job id and a
// JobSender that remembers the ids it has printed (the bridge's helper)
// acknowledges the retry without printing twice.
//
// The id is "rcpt:<payment id>:<copy>:0" for a first print and
// "rcpt:<payment id>:<copy>:r<digest>" for a reprint, where digest covers
// the whole receipt (state, refunds, ...). Caveat: two reprints with the same
// content get the same id, and a helper that still remembers the first one
// will not print the second. A caller that counts reprints (the outbox job
// id, a reprint counter) should use JobPrinter.PrintReceiptJob with its own id.
func JobID(r Receipt) (string, error) {
	if r.PaymentID == "" {
		return "", errors.New("printer: receipt job id: receipt has no payment id")
	}
	cp := r.Copy
	if cp == "" {
		cp = "customer"
	}
	tail := "0"
	if r.Reprint {
		tail = "r" + receiptDigest(r)
	}
	id := "rcpt:" + safeIDPart(r.PaymentID) + ":" + safeIDPart(cp) + ":" + tail
	if r.JobKey != "" {
		// The caller names the job (the agent: payment id and outbox job
		// sequence), so every print job differs, reprints and refund
		// receipts included, while a retry of one job keeps its id.
		id = "rcpt:" + safeIDPart(r.JobKey) + ":" + safeIDPart(cp)
	}
	if len(id) > maxJobIDLen {
		// Very long payment ids: keep the id bounded and still deterministic.
		sum := sha256.Sum256([]byte(id))
		id = "rcpt:h" + hex.EncodeToString(sum[:16])
	}
	return id, nil
}

// safeIDPart keeps ids printable and free of the ':' separator.
func safeIDPart(s string) string {
	return strings.Map(func(r rune) rune {
		if r <= 0x20 || r == 0x7f || r == ':' {
			return '_'
		}
		return r
	}, s)
}

// receiptDigest is a short, stable digest of everything printed on r.
func receiptDigest(r Receipt) string {
	h := sha256.New()
	str := func(s string) {
		writeLen(h, len(s))
		h.Write([]byte(s))
	}
	num := func(n int64) {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(n))
		h.Write(b[:])
	}
	tm := func(t time.Time) {
		num(t.Unix())
		num(int64(t.Nanosecond()))
	}
	str(r.Copy)
	str(r.Merchant)
	writeLen(h, len(r.Address))
	for _, a := range r.Address {
		str(a)
	}
	str(r.Terminal)
	tm(r.Time)
	str(r.PaymentID)
	str(r.OrderID)
	str(r.Mode)
	str(r.Wallet)
	num(r.Amount)
	str(r.Currency)
	str(r.CodeMasked)
	str(r.State)
	writeLen(h, len(r.Refunds))
	for _, f := range r.Refunds {
		str(f.OrderID)
		num(f.Amount)
		str(f.State)
		tm(f.Time)
	}
	writeLen(h, len(r.Footer))
	for _, f := range r.Footer {
		str(f)
	}
	str(r.QR)
	return hex.EncodeToString(h.Sum(nil)[:8])
}

func writeLen(h hash.Hash, n int) {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(n))
	h.Write(b[:])
}
