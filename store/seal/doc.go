// Package seal keeps the customer's payment codes of one journal sealed:
// AES-256-GCM under a data key kept in a file beside the journal
// (record.KeysPath), each code bound to its payment id. The journal holds
// only the sealed form (record.SealPrefix + key id + nonce and
// ciphertext), so a code left in a freed page of the journal, or in a
// backup, can be read only while its key exists. Keys are renewed
// (Ring.Renew; the journal's Options.KeyRotation, default daily) and a key
// no open payment needs any more is destroyed (Ring.Destroy): from then on
// the codes it sealed are gone, wherever their bytes are.
//
// The key file is JSON ({"version":1,"keys":[{"id","created","key"}]}),
// replaced atomically (temporary file, fsync, rename, fsync of the
// directory): a key is on disk before anything is sealed with it. A
// missing file is an empty ring. The package knows nothing of bbolt; the
// store package decides which keys are needed.
package seal
