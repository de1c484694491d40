#include "crypto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>

namespace nextier::eventstore::crypto {
namespace {

constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

void Sha256(const void* data, size_t size, uint8_t out[32]) {
  SHA256(static_cast<const unsigned char*>(data), size, out);
}

void HmacSha256(const Key& key, std::string_view data, uint8_t out[32]) {
  unsigned int len = 32;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), U(data), data.size(), out, &len);
}

Status RandomBytes(uint8_t* out, size_t size) {
  if (RAND_bytes(out, static_cast<int>(size)) != 1) {
    return Status::Internal("RAND_bytes failed: the system random source is unavailable");
  }
  return Status::Ok();
}

Result<std::string> SealAesGcm(const Key& key, std::string_view aad, std::string_view plaintext) {
  std::string out(kNonceSize + plaintext.size() + kTagSize, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  NEXTIER_RETURN_IF_ERROR(RandomBytes(o, kNonceSize));
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), o) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o + kNonceSize, &len, U(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + kNonceSize + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagSize,
                          o + kNonceSize + plaintext.size()) != 1) {
    return Status::Internal("AES-256-GCM encryption failed");
  }
  return out;
}

Result<std::string> OpenAesGcm(const Key& key, std::string_view aad, std::string_view sealed) {
  if (sealed.size() < kNonceSize + kTagSize) {
    return Status::Corruption("sealed data is shorter than a nonce and a tag");
  }
  const size_t n = sealed.size() - kNonceSize - kTagSize;
  std::string out(n, '\0');
  const auto* in = U(sealed);
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!ctx || EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), in) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                        in + kNonceSize, static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagSize,
                          const_cast<unsigned char*>(in + kNonceSize + n)) != 1) {
    return Status::Internal("AES-256-GCM decryption could not start");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + len, &len) !=
      1) {
    return Status::Corruption("sealed data failed authentication (altered, or another subject's)");
  }
  return out;
}

}  // namespace nextier::eventstore::crypto
