// The crypto helpers against OpenSSL's one-shot functions: the cached algorithms, reused
// contexts, pre-keyed HMAC states and buffered random bytes must give the same answers.
#include "crypto.h"

#include <gtest/gtest.h>
#include <openssl/hmac.h>
#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

namespace nextier::eventstore::crypto {
namespace {

std::string Hex(const uint8_t* p, size_t n) {
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kHex[p[i] >> 4];
    out += kHex[p[i] & 15];
  }
  return out;
}

TEST(CryptoTest, Sha256MatchesTheKnownVectors) {
  uint8_t out[32];
  Sha256("abc", 3, out);
  EXPECT_EQ(Hex(out, 32), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256("", 0, out);
  EXPECT_EQ(Hex(out, 32), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(CryptoTest, HmacMatchesOpenSslsOneShotHmacAcrossKeysAndLengths) {
  std::vector<Key> keys(3);
  for (size_t k = 0; k < keys.size(); ++k) {
    for (size_t i = 0; i < 32; ++i) keys[k][i] = static_cast<uint8_t>(k * 77 + i * 13);
  }
  std::string message;
  for (int round = 0; round < 200; ++round) {
    const Key& key = keys[round % keys.size()];  // the key changes between calls
    uint8_t ours[32], theirs[32];
    unsigned int len = 32;
    HmacSha256(key, message, ours);
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(message.data()), message.size(), theirs, &len);
    ASSERT_EQ(Hex(ours, 32), Hex(theirs, 32)) << "round " << round << ", " << message.size();
    message.push_back(static_cast<char>('a' + round % 26));
    if (round % 50 == 49) message.append(1000, static_cast<char>(round));
  }
}

TEST(CryptoTest, HmacIsTheSameOnEveryThread) {
  Key key{};
  key[0] = 1;
  uint8_t expected[32];
  HmacSha256(key, "+12125550123", expected);
  std::vector<std::thread> threads;
  std::vector<std::string> got(4);
  for (size_t t = 0; t < got.size(); ++t) {
    threads.emplace_back([&, t] {
      uint8_t out[32];
      for (int i = 0; i < 1000; ++i) HmacSha256(key, "+12125550123", out);
      got[t] = Hex(out, 32);
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, Hex(expected, 32));
}

TEST(CryptoTest, RandomBytesAreNeverHandedOutTwice) {
  std::set<std::string> seen;
  for (int i = 0; i < 20000; ++i) {  // several refills of the buffer
    uint8_t b[12];
    ASSERT_TRUE(RandomBytes(b, sizeof b).ok());
    ASSERT_TRUE(seen.insert(Hex(b, sizeof b)).second) << "a nonce repeated at " << i;
  }
  std::vector<uint8_t> big(100000);  // larger than the buffer: straight from RAND_bytes
  ASSERT_TRUE(RandomBytes(big.data(), big.size()).ok());
}

TEST(CryptoTest, AForkedChildDoesNotReuseItsParentsBufferedBytes) {
  uint8_t warm[12];
  ASSERT_TRUE(RandomBytes(warm, sizeof warm).ok());  // the buffer now holds unused bytes
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    uint8_t b[32];
    const bool ok = RandomBytes(b, sizeof b).ok();
    ssize_t w = ok ? write(fds[1], b, sizeof b) : -1;
    _exit(w == static_cast<ssize_t>(sizeof b) ? 0 : 1);
  }
  uint8_t parent[32], child[32];
  ASSERT_TRUE(RandomBytes(parent, sizeof parent).ok());
  ASSERT_EQ(read(fds[0], child, sizeof child), static_cast<ssize_t>(sizeof child));
  int status = 0;
  waitpid(pid, &status, 0);
  close(fds[0]);
  close(fds[1]);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_NE(Hex(parent, 32), Hex(child, 32));
}

TEST(CryptoTest, SealAndOpenRoundTripAndRefuseAnotherSubject) {
  Key key{};
  key[5] = 9;
  auto sealed = SealAesGcm(key, "lead-1", "Jane Smith +12125550123");
  ASSERT_TRUE(sealed.ok());
  auto again = SealAesGcm(key, "lead-1", "Jane Smith +12125550123");
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*sealed, *again) << "two seals must use two nonces";
  auto opened = OpenAesGcm(key, "lead-1", *sealed);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, "Jane Smith +12125550123");
  EXPECT_FALSE(OpenAesGcm(key, "lead-2", *sealed).ok());
  std::string altered = *sealed;
  altered[14] ^= 1;
  EXPECT_FALSE(OpenAesGcm(key, "lead-1", altered).ok());
}

}  // namespace
}  // namespace nextier::eventstore::crypto
