package bridge

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"strings"
	"time"

	"github.com/posagent/posagent/printer"
)

// ReceiptJobID derives the job id of a receipt print job from its JobKey
// when set ("rcpt:<job key>:<copy>"), else from the receipt itself, so that the engine's outbox retrying the same receipt sends the
// same job_id and the helper, which remembers the job ids it has printed,
// acknowledges the retry without printing twice.
//
// The id is "rcpt:<payment id>:<copy>:0" for a first print and
// "rcpt:<payment id>:<copy>:r<digest>" for a reprint, where digest covers
// the whole receipt (state, refunds, ...). Caveat: two reprints with the same
// content get the same id, and a helper that still remembers the first one
// will not print the second. A caller that counts reprints (the outbox job
// id, a reprint counter) should use (*Hub).PrintReceiptJob with its own id.
func ReceiptJobID(r printer.Receipt) (string, error) {
	if r.PaymentID == "" {
		return "", errors.New("bridge: receipt job id: receipt has no payment id")
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
	if len(id) > maxIDLen {
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
func receiptDigest(r printer.Receipt) string {
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
