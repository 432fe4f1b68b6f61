package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/posagent/posagent/store/internal/fsutil"
	"github.com/posagent/posagent/store/record"
)

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

// Ring holds the data keys of one journal.
type Ring struct {
	path string
	// mu guards keys and cur.
	mu   sync.Mutex
	keys map[uint32]dataKey
	cur  uint32
}

// Load reads the key file at path; a missing file is an empty ring.
func Load(path string) (*Ring, error) {
	k := &Ring{path: path, keys: map[uint32]dataKey{}}
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
func (k *Ring) save() error {
	f := keyFile{Version: 1}
	for _, dk := range k.keys {
		f.Keys = append(f.Keys, dk)
	}
	sort.Slice(f.Keys, func(i, j int) bool { return f.Keys[i].ID < f.Keys[j].ID })
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileSync(k.path, b, 0o600); err != nil {
		return fmt.Errorf("store: keys %s: %w", k.path, err)
	}
	return nil
}

// addKey makes a new current key and saves the ring. The caller holds mu.
func (k *Ring) addKey(now time.Time) error {
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

// Ensure makes sure there is a current key.
func (k *Ring) Ensure(now time.Time) error {
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

// Seal encrypts code under the current key, bound to the payment id.
func (k *Ring) Seal(code, paymentID string) (string, error) {
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
	return record.SealPrefix + strconv.FormatUint(uint64(dk.ID), 10) + "." + base64.RawURLEncoding.EncodeToString(blob), nil
}

// ErrKeyGone: the key that sealed a code was destroyed (or its file lost).
var ErrKeyGone = errors.New("data key destroyed")

// Open decrypts a sealed code of paymentID.
func (k *Ring) Open(sealed, paymentID string) (string, error) {
	id, blob, err := record.ParseSealed(sealed)
	if err != nil {
		return "", err
	}
	k.mu.Lock()
	dk, ok := k.keys[id]
	k.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("key %d: %w", id, ErrKeyGone)
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

// Has reports whether the ring holds key id.
func (k *Ring) Has(id uint32) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	_, ok := k.keys[id]
	return ok
}

// Renew makes a new current key when there is none, when the current one
// is every old or older at now, or when force is set; it returns the new
// key's id (0: none made).
func (k *Ring) Renew(now time.Time, every time.Duration, force bool) (uint32, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	cur := k.keys[k.cur]
	if !force && k.cur != 0 && now.Sub(cur.Created) < every {
		return 0, nil
	}
	if err := k.addKey(now); err != nil {
		return 0, err
	}
	return k.cur, nil
}

// Destroy removes, from the ring and its file, every key but the current
// one and those need names (the keys open payments' codes are sealed
// under), and clears their bytes: a code sealed under a destroyed key can
// no longer be read by anyone. It returns the keys destroyed and kept, in
// order; when the file cannot be written nothing is destroyed.
func (k *Ring) Destroy(need map[uint32]bool) (destroyed, kept []uint32, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	removed := map[uint32]dataKey{}
	for id, dk := range k.keys {
		if id != k.cur && !need[id] {
			removed[id] = dk
			delete(k.keys, id)
		}
	}
	if len(removed) > 0 {
		if err := k.save(); err != nil {
			for id, dk := range removed {
				k.keys[id] = dk
			}
			return nil, nil, err
		}
		for id, dk := range removed {
			clear(dk.Key)
			destroyed = append(destroyed, id)
		}
		sort.Slice(destroyed, func(i, j int) bool { return destroyed[i] < destroyed[j] })
	}
	for id := range k.keys {
		kept = append(kept, id)
	}
	sort.Slice(kept, func(i, j int) bool { return kept[i] < kept[j] })
	return destroyed, kept, nil
}
