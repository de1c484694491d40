// Private crypto helpers over OpenSSL: SHA-256, HMAC-SHA256 and AES-256-GCM.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "nextier/common/status.h"

namespace nextier::eventstore::crypto {

using Key = std::array<uint8_t, 32>;

void Sha256(const void* data, size_t size, uint8_t out[32]);
void HmacSha256(const Key& key, std::string_view data, uint8_t out[32]);
Status RandomBytes(uint8_t* out, size_t size);

// nonce(12) || ciphertext || tag(16); `aad` is authenticated, not stored.
Result<std::string> SealAesGcm(const Key& key, std::string_view aad, std::string_view plaintext);
Result<std::string> OpenAesGcm(const Key& key, std::string_view aad, std::string_view sealed);

}  // namespace nextier::eventstore::crypto
