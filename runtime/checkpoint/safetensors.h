#ifndef MODELHUB_RUNTIME_CHECKPOINT_SAFETENSORS_H_
#define MODELHUB_RUNTIME_CHECKPOINT_SAFETENSORS_H_

// modelhub's own reader and writer of the safetensors format
// (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON naming each tensor's dtype, shape and byte range,
// then the tensor bytes. The reader enforces the rules of the reference Rust
// crate and reports every violation as a CorruptModelCheckpointError naming the
// file, the tensor and the absolute byte offset in the file.

#include <ATen/core/Tensor.h>
#include <c10/core/ScalarType.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace modelhub {

// Element types of safetensors files.
enum class SafetensorsDtype {
  kBool,
  kU8,
  kI8,
  kF8E4M3,
  kF8E5M2,
  kI16,
  kU16,
  kF16,
  kBF16,
  kI32,
  kU32,
  kF32,
  kI64,
  kU64,
  kF64,
};

// The dtype's name in safetensors headers ("BF16", "F8_E4M3").
std::string_view SafetensorsDtypeName(SafetensorsDtype dtype);

// The dtype named `name` in a safetensors header, or nullopt if none is.
std::optional<SafetensorsDtype> ParseSafetensorsDtype(std::string_view name);

// The size in bytes of one element of `dtype`.
size_t SafetensorsDtypeSize(SafetensorsDtype dtype);

// The LibTorch dtype of `dtype`, or nullopt where LibTorch 1.13 has none
// (F8_E4M3, F8_E5M2, U16, U32, U64).
std::optional<c10::ScalarType> ToScalarType(SafetensorsDtype dtype);

// The safetensors dtype of LibTorch dtype `type`. Throws std::invalid_argument
// where safetensors has none (complex and quantized types).
SafetensorsDtype FromScalarType(c10::ScalarType type);

// One tensor's header entry. `begin` and `end` are absolute offsets in the
// file: the tensor's bytes are [begin, end).
struct SafetensorsEntry {
  std::string name;
  SafetensorsDtype dtype = SafetensorsDtype::kF32;
  std::vector<int64_t> shape;
  uint64_t begin = 0;
  uint64_t end = 0;

  // The number of elements: the product of `shape` (1 for a 0-d tensor).
  int64_t numel() const;
  // The number of bytes: end - begin (== numel() * element size once validated).
  uint64_t nbytes() const { return end - begin; }
};

// How SafetensorsFile reads tensor bytes.
enum class ReadStrategy {
  // pread(2) straight into the destination, in chunks of 16 MiB.
  kPread,
  // A read-only private mmap(2) of the whole file made at Open;
  // madvise(MADV_WILLNEED) on each tensor's range, then memcpy.
  kMmap,
};

// An open, validated safetensors file. Open reads and checks only the header;
// tensor bytes are read on demand by ReadInto / Read, which may be called from
// several threads at once. Move-only; closes (and unmaps) the file on
// destruction.
class SafetensorsFile {
 public:
  // Opens and validates the safetensors file at `path`. Throws
  // AssetNotFoundError if it does not exist, CorruptModelCheckpointError if it
  // breaks any rule of the format (naming the tensor and file offset), and
  // std::system_error for other I/O failures.
  static SafetensorsFile Open(const std::string& path,
                              ReadStrategy strategy = ReadStrategy::kPread);

  SafetensorsFile(SafetensorsFile&& other) noexcept;
  SafetensorsFile& operator=(SafetensorsFile&& other) noexcept;
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  ~SafetensorsFile();

  // The path the file was opened at.
  const std::string& path() const { return path_; }
  // The read strategy given to Open.
  ReadStrategy strategy() const { return strategy_; }
  // Every tensor, in the order of their data in the file.
  const std::vector<SafetensorsEntry>& entries() const { return entries_; }
  // The entry named `name`, or null if there is none. Valid while this lives.
  const SafetensorsEntry* Find(std::string_view name) const;
  // The header's "__metadata__" (empty if it has none).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // The size of the file in bytes, as seen at Open.
  uint64_t file_size() const { return file_size_; }
  // The length N of the JSON header; tensor data starts at file offset 8 + N.
  uint64_t header_size() const { return header_size_; }

  // Copies the bytes of `entry` (one of entries()) into `dst`, which must hold
  // entry.nbytes() bytes and may have any alignment. Throws
  // CorruptModelCheckpointError naming the tensor, file offset and errno text on
  // a short read, end of file or I/O error (the file may have been truncated
  // after Open).
  void ReadInto(const SafetensorsEntry& entry, void* dst) const;

  // A new contiguous CPU tensor holding `entry`. Throws
  // CorruptModelCheckpointError, naming the tensor and dtype, for dtypes
  // LibTorch 1.13 lacks, and as ReadInto does.
  at::Tensor Read(const SafetensorsEntry& entry) const;

 private:
  SafetensorsFile() = default;
  void Close() noexcept;

  std::string path_;
  ReadStrategy strategy_ = ReadStrategy::kPread;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  uint64_t header_size_ = 0;
  std::vector<SafetensorsEntry> entries_;
  // Keys view the names in entries_, which never changes after Open (moving a
  // std::vector keeps its elements in place).
  std::unordered_map<std::string_view, size_t> index_;
  std::map<std::string, std::string> metadata_;
  void* map_ = nullptr;  // the whole file under ReadStrategy::kMmap
  size_t map_size_ = 0;
};

// Writes `tensors` as a safetensors file at `path`. Tensors may be on any
// device, of any layout and strides: each is copied to a contiguous CPU tensor
// one at a time as it is written. Entries keep the given order; `metadata`
// becomes "__metadata__" (omitted when empty). The header is padded with spaces
// so that tensor data starts at a multiple of 8. The file is written to a
// temporary file in the same directory, fsync'ed, then renamed over `path`, so
// a failure never leaves a partial file under `path` (the temporary file is
// removed). Throws std::invalid_argument for duplicate names, the name
// "__metadata__", names that are not UTF-8 or dtypes safetensors lacks (before
// anything is written), and std::system_error naming the path on I/O errors.
void WriteSafetensors(const std::string& path,
                      const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CHECKPOINT_SAFETENSORS_H_
