package record

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// StoredPayment is a payment as stored: the code sealed, never in clear.
// Its AuthCode shadows Payment.AuthCode in JSON; it is set only in
// journals written before codes were sealed.
type StoredPayment struct {
	*Payment
	AuthCode string `json:"auth_code,omitempty"`
	Sealed   string `json:"auth_code_sealed,omitempty"`
}

// DecodePayment decodes a record of the payments bucket.
func DecodePayment(v []byte) (*StoredPayment, error) {
	v, err := UnpackPayment(v)
	if err != nil {
		return nil, err
	}
	r := &StoredPayment{Payment: &Payment{}}
	if err := json.Unmarshal(v, r); err != nil {
		return nil, err
	}
	return r, nil
}

// SealPrefix starts a sealed payment code.
const SealPrefix = "v1."

// ParseSealed splits "v1.<key id>.<base64url(nonce|ciphertext)>".
func ParseSealed(s string) (uint32, []byte, error) {
	rest, ok := strings.CutPrefix(s, SealPrefix)
	if !ok {
		return 0, nil, errors.New("unknown sealing format")
	}
	idStr, b64, ok := strings.Cut(rest, ".")
	if !ok {
		return 0, nil, errors.New("no key id")
	}
	id, err := strconv.ParseUint(idStr, 10, 32)
	if err != nil || id == 0 {
		return 0, nil, errors.New("bad key id")
	}
	blob, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil || len(blob) < 12+16 {
		return 0, nil, errors.New("bad ciphertext")
	}
	return uint32(id), blob, nil
}

// KeysPath is the data-key file of the journal at path.
func KeysPath(path string) string { return path + ".keys" }
