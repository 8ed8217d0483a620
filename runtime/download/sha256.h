#ifndef MODELHUB_RUNTIME_DOWNLOAD_SHA256_H_
#define MODELHUB_RUNTIME_DOWNLOAD_SHA256_H_

// SHA-256 (OpenSSL's EVP; SHA-NI where the CPU has it), fed incrementally so
// downloads are hashed while they arrive.

#include <cstddef>
#include <string>
#include <string_view>

namespace modelhub {

// An incremental SHA-256. Not copyable; movable.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&& other) noexcept;
  Sha256& operator=(Sha256&& other) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  // Hashes `size` more bytes.
  void Update(const void* data, size_t size);
  // The digest of everything hashed so far as 64 lowercase hex digits. The
  // hasher is reset afterwards.
  std::string HexDigest();
  // Forgets what was hashed.
  void Reset();

 private:
  struct State;
  State* state_;
};

// The SHA-256 of the first `limit` bytes of the file at `path` (the whole file
// when `limit` is npos) fed into `hash`. Throws std::runtime_error when the file
// cannot be read or is shorter than `limit`.
void HashFilePrefix(const std::string& path, size_t limit, Sha256& hash);

// The hex SHA-256 of the whole file at `path`.
std::string Sha256OfFile(const std::string& path);

// The hex SHA-256 of `data`.
std::string Sha256OfText(std::string_view data);

// True for 64 hex digits (either case): the shape of a SHA-256 in hex.
bool LooksLikeSha256(std::string_view text);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_DOWNLOAD_SHA256_H_
