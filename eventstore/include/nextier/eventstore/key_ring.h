// Per-subject encryption keys for personal data, and keyed hashes for lookups.
//
// Each subject (usually a lead's stream id) has its own random AES-256 key, kept in the store's
// `keys` database beside the log but never in it. Personal fields are sealed with
// AES-256-GCM (random 96-bit nonce, the subject as associated data) before they go into an
// event, so the hash chain covers only ciphertext. Forgetting a subject destroys its key: its
// events still verify but can no longer be read. Lookups by phone or email use BlindIndex, an
// HMAC-SHA256 under a store-wide secret, never the plaintext.
//
// A key made by Seal() for a new subject is written in the same transaction as the first
// append that carries an event with that `keySubject`, so a key is durable exactly when data
// sealed with it is.
//
// Thread-safety: all methods are safe to call concurrently.
#pragma once

#include <string>
#include <string_view>

#include "nextier/common/status.h"

namespace nextier::eventstore {

class KeyRing {
 public:
  virtual ~KeyRing() = default;

  // Encrypts `plaintext` under `subject`'s key, creating the key on first use. The result is
  // nonce (12 bytes) || ciphertext || tag (16 bytes). NotFound when the subject was forgotten.
  virtual Result<std::string> Seal(std::string_view subject, std::string_view plaintext) = 0;

  // Seal for a subject the caller is creating: its stream is appended with
  // ExpectedVersion::NoStream in the same unit as this data (the importer's new leads). The key is
  // made without looking for a stored one, which is what makes a bulk import cheap. Only for
  // subjects that cannot have a key yet (the importer's lead ids contain a fresh random file
  // id). For one that has, the unit carrying the data fails (its stream exists), but the new key
  // would shadow the stored one in this process until it restarts.
  virtual Result<std::string> SealNew(std::string_view subject, std::string_view plaintext) {
    return Seal(subject, plaintext);
  }
  // The same, but the new key is not kept here: it is put in `*key_out`, and the caller hands it
  // to the store with the event that carries the data (NewEvent::fresh_key), which writes both
  // in one transaction. Saves the bulk importer a shared table of pending keys.
  virtual Result<std::string> SealNew(std::string_view subject, std::string_view plaintext,
                                      std::string* key_out) {
    key_out->clear();
    return SealNew(subject, plaintext);
  }

  // Decrypts what Seal produced. NotFound when the subject was forgotten (the data is erased);
  // Corruption when the bytes were altered or sealed under another subject.
  virtual Result<std::string> Open(std::string_view subject, std::string_view sealed) = 0;

  // Destroys `subject`'s key durably (a tombstone stays, so the key is never re-created).
  virtual Status Forget(std::string_view subject) = 0;
  virtual bool IsForgotten(std::string_view subject) = 0;

  // HMAC-SHA256(secret, purpose || 0 || value): a stable keyed hash for equality lookups.
  virtual std::string BlindIndex(std::string_view purpose, std::string_view value) const = 0;
};

}  // namespace nextier::eventstore
