// Sha256: known vectors, incremental hashing, reset after a digest, hashing a
// file or its prefix, and LooksLikeSha256.

#include "runtime/download/sha256.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace modelhub {
namespace {

constexpr char kEmpty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kAbc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
// SHA-256 of "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq" (FIPS 180-2).
constexpr char kTwoBlocks[] = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";
constexpr char kTwoBlocksText[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

std::string HashOf(const std::string& text) {
  Sha256 hash;
  hash.Update(text.data(), text.size());
  return hash.HexDigest();
}

std::string WriteFile(const std::string& name, const std::string& bytes) {
  const std::string path = (std::filesystem::path(::testing::TempDir()) / name).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  out.close();
  EXPECT_TRUE(out) << path;
  return path;
}

TEST(Sha256Test, KnownVectors) {
  EXPECT_EQ(HashOf(""), kEmpty);
  EXPECT_EQ(HashOf("abc"), kAbc);
  EXPECT_EQ(HashOf(kTwoBlocksText), kTwoBlocks);
}

TEST(Sha256Test, NothingHashedIsTheEmptyDigest) {
  Sha256 hash;
  EXPECT_EQ(hash.HexDigest(), kEmpty);
}

TEST(Sha256Test, IncrementalUpdatesEqualOneShot) {
  std::string text;
  for (int i = 0; i < 10000; ++i) text += static_cast<char>('a' + i % 26);
  const std::string one_shot = HashOf(text);
  Sha256 hash;
  // Uneven pieces that straddle the 64-byte block size, and an empty update.
  size_t done = 0;
  for (size_t piece = 1; done < text.size(); piece = piece * 3 % 97 + 1) {
    const size_t size = std::min(piece, text.size() - done);
    hash.Update(text.data() + done, size);
    done += size;
  }
  hash.Update(text.data(), 0);
  EXPECT_EQ(hash.HexDigest(), one_shot);
  EXPECT_NE(one_shot, HashOf(text.substr(1)));
}

TEST(Sha256Test, HexDigestResetsTheHasher) {
  Sha256 hash;
  hash.Update("abc", 3);
  EXPECT_EQ(hash.HexDigest(), kAbc);
  EXPECT_EQ(hash.HexDigest(), kEmpty);  // nothing hashed since
  hash.Update("abc", 3);
  EXPECT_EQ(hash.HexDigest(), kAbc);  // not "abcabc"
}

TEST(Sha256Test, ResetForgetsWhatWasHashed) {
  Sha256 hash;
  hash.Update("garbage", 7);
  hash.Reset();
  hash.Update("abc", 3);
  EXPECT_EQ(hash.HexDigest(), kAbc);
}

TEST(Sha256Test, MovedHasherKeepsItsState) {
  Sha256 first;
  first.Update("ab", 2);
  Sha256 second(std::move(first));
  second.Update("c", 1);
  EXPECT_EQ(second.HexDigest(), kAbc);
  Sha256 third;
  third = std::move(second);
  third.Update("abc", 3);
  EXPECT_EQ(third.HexDigest(), kAbc);
}

TEST(Sha256Test, DigestIsLowercaseHex) {
  const std::string digest = HashOf("abc");
  EXPECT_EQ(digest.size(), 64u);
  EXPECT_EQ(digest.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(Sha256Test, Sha256OfFile) {
  EXPECT_EQ(Sha256OfFile(WriteFile("sha_abc.bin", "abc")), kAbc);
  EXPECT_EQ(Sha256OfFile(WriteFile("sha_empty.bin", "")), kEmpty);
  // Larger than HashFilePrefix's 8 MiB read buffer.
  std::string big(9 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 % 251);
  EXPECT_EQ(Sha256OfFile(WriteFile("sha_big.bin", big)), HashOf(big));
}

TEST(Sha256Test, Sha256OfMissingFileThrows) {
  EXPECT_THROW(Sha256OfFile(::testing::TempDir() + "/no_such_file.bin"), std::runtime_error);
}

TEST(Sha256Test, HashFilePrefixHashesOnlyTheLimit) {
  const std::string path = WriteFile("sha_prefix.bin", "abcdef");
  Sha256 hash;
  HashFilePrefix(path, 3, hash);
  EXPECT_EQ(hash.HexDigest(), kAbc);

  // The prefix adds to what the hasher has already.
  hash.Update("ab", 2);
  HashFilePrefix(WriteFile("sha_c.bin", "cdef"), 1, hash);
  EXPECT_EQ(hash.HexDigest(), kAbc);

  HashFilePrefix(path, 0, hash);
  EXPECT_EQ(hash.HexDigest(), kEmpty);

  HashFilePrefix(path, 6, hash);  // exactly the whole file
  EXPECT_EQ(hash.HexDigest(), HashOf("abcdef"));

  HashFilePrefix(path, std::string::npos, hash);
  EXPECT_EQ(hash.HexDigest(), HashOf("abcdef"));
}

TEST(Sha256Test, HashFilePrefixOfShortFileThrows) {
  const std::string path = WriteFile("sha_short.bin", "abc");
  Sha256 hash;
  try {
    HashFilePrefix(path, 4, hash);
    FAIL() << "a 3-byte file has no 4-byte prefix";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  EXPECT_THROW(HashFilePrefix(::testing::TempDir() + "/missing.bin", 1, hash), std::runtime_error);
}

TEST(Sha256Test, LooksLikeSha256) {
  EXPECT_TRUE(LooksLikeSha256(kEmpty));
  EXPECT_TRUE(LooksLikeSha256(std::string(64, 'F')));
  EXPECT_TRUE(LooksLikeSha256("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015ad"));
  EXPECT_FALSE(LooksLikeSha256(""));
  EXPECT_FALSE(LooksLikeSha256(std::string(63, 'a')));
  EXPECT_FALSE(LooksLikeSha256(std::string(65, 'a')));
  EXPECT_FALSE(LooksLikeSha256(std::string(63, 'a') + "g"));
  EXPECT_FALSE(LooksLikeSha256(std::string(63, 'a') + " "));
  // A git object id (40 digits) is not one.
  EXPECT_FALSE(LooksLikeSha256("0123456789abcdef0123456789abcdef01234567"));
}

}  // namespace
}  // namespace modelhub
