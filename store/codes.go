package store

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Payment codes are sealed with AES-256-GCM under a data key kept in a file
// beside the journal (KeysPath). The journal holds only the sealed form, so
// a code left in a freed page of the journal, or in a backup, can be read
// only while its key exists. Keys rotate (Options.KeyRotation, default
// daily) and a key no open payment needs any more is destroyed: from then
// on the codes it sealed are gone, wherever their bytes are.

// paymentRecord is a payment as stored: the code sealed, never in clear.
// Its AuthCode shadows Payment.AuthCode in JSON; it is set only in
// journals written before codes were sealed.
type paymentRecord struct {
	*Payment
	AuthCode string `json:"auth_code,omitempty"`
	Sealed   string `json:"auth_code_sealed,omitempty"`
}

func decodePayment(v []byte) (*paymentRecord, error) {
	v, err := unpackPayment(v)
	if err != nil {
		return nil, err
	}
	r := &paymentRecord{Payment: &Payment{}}
	if err := json.Unmarshal(v, r); err != nil {
		return nil, err
	}
	return r, nil
}

const sealPrefix = "v1."

// parseSealed splits "v1.<key id>.<base64url(nonce|ciphertext)>".
func parseSealed(s string) (uint32, []byte, error) {
	rest, ok := strings.CutPrefix(s, sealPrefix)
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

// dataKey is one AES-256 key.
type dataKey struct {
	ID      uint32    `json:"id"`
	Created time.Time `json:"created"`
	Key     []byte    `json:"key"`
}

type keyFile struct {
	Version int       `json:"version"`
	Keys    []dataKey `json:"keys"`
}

// keyring holds the data keys of one journal.
type keyring struct {
	path string
	// mu guards keys and cur.
	mu   sync.Mutex
	keys map[uint32]dataKey
	cur  uint32
}

// KeysPath is the data-key file of the journal at path.
func KeysPath(path string) string { return path + ".keys" }

// loadKeyring reads the key file; a missing file is an empty ring.
func loadKeyring(path string) (*keyring, error) {
	k := &keyring{path: path, keys: map[uint32]dataKey{}}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: keys %s: %w", path, err)
	}
	var f keyFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("store: keys %s: unreadable (%v): move it aside; the payment codes of open payments are then lost", path, err)
	}
	for _, dk := range f.Keys {
		if len(dk.Key) != 32 || dk.ID == 0 {
			return nil, fmt.Errorf("store: keys %s: key %d is malformed", path, dk.ID)
		}
		k.keys[dk.ID] = dk
		if dk.ID > k.cur {
			k.cur = dk.ID
		}
	}
	return k, nil
}

// save writes the ring atomically (temporary file, fsync, rename, fsync of
// the directory): a key is on disk before anything is sealed with it.
func (k *keyring) save() error {
	f := keyFile{Version: 1}
	for _, dk := range k.keys {
		f.Keys = append(f.Keys, dk)
	}
	sort.Slice(f.Keys, func(i, j int) bool { return f.Keys[i].ID < f.Keys[j].ID })
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileSync(k.path, b, 0o600); err != nil {
		return fmt.Errorf("store: keys %s: %w", k.path, err)
	}
	return nil
}

// writeFileSync replaces path with data durably.
func writeFileSync(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return err
	}
	return nil
}

// addKey makes a new current key and saves the ring. The caller holds mu.
func (k *keyring) addKey(now time.Time) error {
	dk := dataKey{ID: k.cur + 1, Created: now.UTC(), Key: make([]byte, 32)}
	if _, err := rand.Read(dk.Key); err != nil {
		return err
	}
	k.keys[dk.ID] = dk
	if err := k.save(); err != nil {
		delete(k.keys, dk.ID)
		return err
	}
	k.cur = dk.ID
	return nil
}

// ensure makes sure there is a current key.
func (k *keyring) ensure(now time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cur != 0 {
		return nil
	}
	return k.addKey(now)
}

func gcm(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// seal encrypts code under the current key, bound to the payment id.
func (k *keyring) seal(code, paymentID string) (string, error) {
	k.mu.Lock()
	dk, ok := k.keys[k.cur]
	k.mu.Unlock()
	if !ok {
		return "", errors.New("store: seal payment code: no data key")
	}
	a, err := gcm(dk.Key)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, a.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", err
	}
	blob := a.Seal(nonce, nonce, []byte(code), []byte(paymentID))
	return sealPrefix + strconv.FormatUint(uint64(dk.ID), 10) + "." + base64.RawURLEncoding.EncodeToString(blob), nil
}

// errKeyGone: the key that sealed a code was destroyed (or its file lost).
var errKeyGone = errors.New("data key destroyed")

// open decrypts a sealed code of paymentID.
func (k *keyring) open(sealed, paymentID string) (string, error) {
	id, blob, err := parseSealed(sealed)
	if err != nil {
		return "", err
	}
	k.mu.Lock()
	dk, ok := k.keys[id]
	k.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("key %d: %w", id, errKeyGone)
	}
	a, err := gcm(dk.Key)
	if err != nil {
		return "", err
	}
	n := a.NonceSize()
	code, err := a.Open(nil, blob[:n], blob[n:], []byte(paymentID))
	if err != nil {
		return "", fmt.Errorf("key %d: does not open", id)
	}
	return string(code), nil
}

// KeyRotation says what RotateKeys did.
type KeyRotation struct {
	New       uint32   // the key made current, 0 when the current one is young enough
	Destroyed []uint32 // keys no open payment needed
	Kept      []uint32 // keys still held (the current one and those open payments need)
}

// RotateKeys makes a new current data key when the current one is older
// than Options.KeyRotation (or when force is set), then destroys every
// other key that no open payment's sealed code needs. A code in a freed
// page of the journal, or in a backup, sealed under a destroyed key can no
// longer be read by anyone. Writers wait while it runs.
func (s *Store) RotateKeys(force bool) (KeyRotation, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	var res KeyRotation
	now := s.now()
	s.keys.mu.Lock()
	cur := s.keys.keys[s.keys.cur]
	if force || s.keys.cur == 0 || now.Sub(cur.Created) >= s.keyEvery {
		if err := s.keys.addKey(now); err != nil {
			s.keys.mu.Unlock()
			return res, fmt.Errorf("store: rotate keys: %w", err)
		}
		res.New = s.keys.cur
	}
	s.keys.mu.Unlock()
	need := map[uint32]bool{}
	err := s.withDB(func(db *bolt.DB) error {
		return db.View(func(tx *bolt.Tx) error {
			return openRecords(tx, func(v []byte) {
				r, err := decodePayment(v)
				if err != nil || r.Sealed == "" || r.State.Final() {
					return
				}
				if id, _, err := parseSealed(r.Sealed); err == nil {
					need[id] = true
				}
			})
		})
	})
	if err != nil {
		return res, fmt.Errorf("store: rotate keys: %w", err)
	}
	s.keys.mu.Lock()
	defer s.keys.mu.Unlock()
	removed := map[uint32]dataKey{}
	for id, dk := range s.keys.keys {
		if id != s.keys.cur && !need[id] {
			removed[id] = dk
			delete(s.keys.keys, id)
		}
	}
	if len(removed) > 0 {
		if err := s.keys.save(); err != nil {
			for id, dk := range removed {
				s.keys.keys[id] = dk
			}
			return res, fmt.Errorf("store: rotate keys: %w", err)
		}
		for id, dk := range removed {
			clear(dk.Key)
			res.Destroyed = append(res.Destroyed, id)
		}
		sort.Slice(res.Destroyed, func(i, j int) bool { return res.Destroyed[i] < res.Destroyed[j] })
	}
	for id := range s.keys.keys {
		res.Kept = append(res.Kept, id)
	}
	sort.Slice(res.Kept, func(i, j int) bool { return res.Kept[i] < res.Kept[j] })
	return res, nil
}
