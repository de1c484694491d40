#include "crypto.h"

// SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but they are still
// exported, run the same assembly (SHA-NI where the CPU has it) and their context is a plain
// struct: an HMAC from precomputed pad states copies 112 bytes instead of duplicating two EVP
// contexts through the provider (about a third of a short message's HMAC time).
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>

#include <atomic>
#include <cstring>
#include <memory>

namespace nextier::eventstore::crypto {
namespace {

constexpr size_t kNonceSize = 12;
constexpr size_t kTagSize = 16;
constexpr size_t kShaBlock = 64;

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// OpenSSL 3 looks an algorithm up in its provider store (under a lock) each time one is named
// by EVP_aes_256_gcm(), SHA256() or HMAC(); the store, the log's writer and every producer
// thread seal per event, so the cipher is fetched once and its context reused per thread.
const EVP_CIPHER* AesGcm() {
  static EVP_CIPHER* const cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  return cipher;
}

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

EVP_CIPHER_CTX* ThreadCipherCtx() {
  thread_local CipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  return ctx.get();
}
// The cipher argument of a (re)initialisation: null once the thread's context holds AES-256-GCM,
// which keeps it and only sets the new key and nonce (a quarter less time than naming it again).
const EVP_CIPHER* CipherToSet(EVP_CIPHER_CTX* ctx) {
  return EVP_CIPHER_CTX_get0_cipher(ctx) == AesGcm() ? nullptr : AesGcm();
}

// HMAC-SHA256 of one key, with the padded key's two hash states computed once (RFC 2104): each
// MAC then costs two struct copies and the hashing of the message, no allocation, no lookup.
struct HmacState {
  Key key{};
  bool ready = false;
  SHA256_CTX inner;
  SHA256_CTX outer;

  void Prepare(const Key& k) {
    if (ready && key == k) return;
    unsigned char ipad[kShaBlock], opad[kShaBlock];
    std::memset(ipad, 0x36, sizeof ipad);
    std::memset(opad, 0x5c, sizeof opad);
    for (size_t i = 0; i < k.size(); ++i) {  // a 32-byte key is shorter than the block
      ipad[i] ^= k[i];
      opad[i] ^= k[i];
    }
    SHA256_Init(&inner);
    SHA256_Update(&inner, ipad, sizeof ipad);
    SHA256_Init(&outer);
    SHA256_Update(&outer, opad, sizeof opad);
    OPENSSL_cleanse(ipad, sizeof ipad);
    OPENSSL_cleanse(opad, sizeof opad);
    key = k;
    ready = true;
  }
  ~HmacState() {
    OPENSSL_cleanse(&inner, sizeof inner);
    OPENSSL_cleanse(&outer, sizeof outer);
    OPENSSL_cleanse(key.data(), key.size());
  }
};

// Random bytes come from RAND_bytes a few KiB at a time (each call costs a getpid() and the
// DRBG's lock). A child made by fork() must never reuse its parent's buffered bytes (two equal
// nonces under one key break GCM), so fork() empties every thread's buffer.
std::atomic<uint64_t> g_fork_generation{0};
void OnFork() { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }

struct RandomBuffer {
  static constexpr size_t kSize = 4096;
  unsigned char bytes[kSize];
  size_t used = kSize;
  uint64_t generation = 0;
  ~RandomBuffer() { OPENSSL_cleanse(bytes, sizeof bytes); }
};

}  // namespace

void Sha256(const void* data, size_t size, uint8_t out[32]) {
  SHA256_CTX ctx;
  SHA256_Init(&ctx);
  SHA256_Update(&ctx, data, size);
  SHA256_Final(out, &ctx);
}

void HmacSha256(const Key& key, std::string_view data, uint8_t out[32]) {
  thread_local HmacState state;
  state.Prepare(key);
  unsigned char inner_hash[32];
  SHA256_CTX work = state.inner;
  SHA256_Update(&work, data.data(), data.size());
  SHA256_Final(inner_hash, &work);
  work = state.outer;
  SHA256_Update(&work, inner_hash, sizeof inner_hash);
  SHA256_Final(out, &work);
}

Status RandomBytes(uint8_t* out, size_t size) {
  static const bool registered = pthread_atfork(nullptr, nullptr, &OnFork) == 0;
  (void)registered;
  thread_local RandomBuffer buffer;
  const uint64_t generation = g_fork_generation.load(std::memory_order_relaxed);
  if (buffer.generation != generation) {
    buffer.used = RandomBuffer::kSize;  // forked since the fill: never hand out those bytes
    buffer.generation = generation;
  }
  if (size > RandomBuffer::kSize / 4) {
    if (RAND_bytes(out, static_cast<int>(size)) != 1) {
      return Status::Internal("RAND_bytes failed: the system random source is unavailable");
    }
    return Status::Ok();
  }
  if (RandomBuffer::kSize - buffer.used < size) {
    if (RAND_bytes(buffer.bytes, static_cast<int>(RandomBuffer::kSize)) != 1) {
      return Status::Internal("RAND_bytes failed: the system random source is unavailable");
    }
    buffer.used = 0;
  }
  std::memcpy(out, buffer.bytes + buffer.used, size);
  OPENSSL_cleanse(buffer.bytes + buffer.used, size);  // each byte is handed out once
  buffer.used += size;
  return Status::Ok();
}

Result<std::string> SealAesGcm(const Key& key, std::string_view aad, std::string_view plaintext) {
  std::string out(kNonceSize + plaintext.size() + kTagSize, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  NEXTIER_RETURN_IF_ERROR(RandomBytes(o, kNonceSize));
  EVP_CIPHER_CTX* ctx = ThreadCipherCtx();
  int len = 0;
  if (ctx == nullptr || AesGcm() == nullptr ||
      EVP_EncryptInit_ex2(ctx, CipherToSet(ctx), key.data(), o, nullptr) != 1 ||
      EVP_EncryptUpdate(ctx, nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_EncryptUpdate(ctx, o + kNonceSize, &len, U(plaintext),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx, o + kNonceSize + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagSize, o + kNonceSize + plaintext.size()) !=
          1) {
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
  EVP_CIPHER_CTX* ctx = ThreadCipherCtx();
  int len = 0;
  if (ctx == nullptr || AesGcm() == nullptr ||
      EVP_DecryptInit_ex2(ctx, CipherToSet(ctx), key.data(), in, nullptr) != 1 ||
      EVP_DecryptUpdate(ctx, nullptr, &len, U(aad), static_cast<int>(aad.size())) != 1 ||
      EVP_DecryptUpdate(ctx, reinterpret_cast<unsigned char*>(out.data()), &len, in + kNonceSize,
                        static_cast<int>(n)) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagSize,
                          const_cast<unsigned char*>(in + kNonceSize + n)) != 1) {
    return Status::Internal("AES-256-GCM decryption could not start");
  }
  if (EVP_DecryptFinal_ex(ctx, reinterpret_cast<unsigned char*>(out.data()) + len, &len) != 1) {
    return Status::Corruption("sealed data failed authentication (altered, or another subject's)");
  }
  return out;
}

}  // namespace nextier::eventstore::crypto
