#ifndef MODELHUB_RUNTIME_CHECKPOINT_TENSOR_FILE_H_
#define MODELHUB_RUNTIME_CHECKPOINT_TENSOR_FILE_H_

// An open checkpoint file of any format, seen as named tensors at known byte
// ranges. A format's reader (OpenSafetensors, OpenTorchCheckpoint) parses the
// file's index and hands the entries over; tensor bytes are then read on
// demand, from any number of threads, straight into the caller's memory.

#include <ATen/core/Tensor.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/core/errors.h"
#include "runtime/formats/tensor_dtype.h"

namespace modelhub {

// A checkpoint tensor has a dtype the checkpoint format knows but modelhub
// cannot load (LibTorch 1.13 has no such type, or the model's parameters are
// real and the tensor is complex): the file is valid, the tensor unusable.
// The message names the file, the tensor and the dtype.
class UnsupportedDtypeError : public Error {
 public:
  UnsupportedDtypeError(std::string path, std::string tensor, TensorDtype dtype,
                        const std::string& why);
  const std::string& path() const { return path_; }
  const std::string& tensor() const { return tensor_; }
  TensorDtype dtype() const { return dtype_; }

 private:
  std::string path_;
  std::string tensor_;
  TensorDtype dtype_;
};

// One tensor of a file. Its elements live in the file from byte `begin`:
// row-major and contiguous when `strides` is empty, else element i of
// dimension d is `strides[d]` elements further (strides are never negative).
// [begin, end) is the span of bytes that holds every element.
struct TensorEntry {
  std::string name;
  TensorDtype dtype = TensorDtype::kF32;
  std::vector<int64_t> shape;
  std::vector<int64_t> strides;  // empty: contiguous
  uint64_t begin = 0;
  uint64_t end = 0;

  // The number of elements: the product of `shape` (1 for a 0-d tensor).
  int64_t numel() const;
  // The bytes of the tensor once contiguous: numel() * element bits / 8
  // (readers accept sub-byte dtypes only when that is a whole number).
  uint64_t nbytes() const;
  // True when the elements are stored row-major and contiguous.
  bool contiguous() const { return strides.empty(); }
};

// How a TensorFile reads tensor bytes.
enum class ReadStrategy {
  // pread(2) straight into the destination, in chunks of 16 MiB.
  kPread,
  // A read-only private mmap(2) of the whole file; madvise(MADV_WILLNEED) on
  // each tensor's range, then memcpy.
  kMmap,
};

// An open checkpoint file and its tensors. Move-only; closes (and unmaps) the
// file on destruction. Reads may run from several threads at once.
class TensorFile {
 public:
  // Opens `path` with no entries yet, for a format's reader to fill with
  // SetEntries; `format` names the format in messages ("safetensors",
  // "torch"). Throws AssetNotFoundError if it does not exist (ENOENT,
  // ENOTDIR), and CorruptModelCheckpointError naming the path, the operation
  // and the system's reason for a file that is not a regular file or cannot
  // be opened (permissions, a name too long, a symlink loop, ...).
  static TensorFile Open(const std::string& path, ReadStrategy strategy, std::string format);

  TensorFile(TensorFile&& other) noexcept;
  TensorFile& operator=(TensorFile&& other) noexcept;
  TensorFile(const TensorFile&) = delete;
  TensorFile& operator=(const TensorFile&) = delete;
  ~TensorFile();

  // Installs the file's tensors, which the format's reader has validated to
  // lie inside the file (ranges may overlap: tensors may share storage), and
  // its metadata. Entries are kept sorted by `begin` (the order that reads
  // sequentially). Maps the file under ReadStrategy::kMmap (a failure is a
  // CorruptModelCheckpointError naming the path and the system's reason).
  void SetEntries(std::vector<TensorEntry> entries, std::map<std::string, std::string> metadata);

  // The path the file was opened at.
  const std::string& path() const { return path_; }
  // The format's name, as given to Open.
  const std::string& format() const { return format_; }
  ReadStrategy strategy() const { return strategy_; }
  // Every tensor, in the order of their data in the file.
  const std::vector<TensorEntry>& entries() const { return entries_; }
  // The entry named `name`, or null if there is none. Valid while this lives.
  const TensorEntry* Find(std::string_view name) const;
  // Format-specific facts about the file (safetensors "__metadata__"; the
  // non-tensor parts of a torch checkpoint).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // The size of the file in bytes, as seen at Open.
  uint64_t file_size() const { return file_size_; }

  // Reads `size` bytes at file offset `offset` into `dst`. Throws
  // CorruptModelCheckpointError naming `what`, the offset and the errno text on
  // an I/O error or when the file ends first.
  void ReadBytes(uint64_t offset, size_t size, void* dst, std::string_view what) const;

  // Copies the elements of `entry` (one of entries()), row-major and
  // contiguous, into `dst`, which must hold entry.nbytes() bytes and may have
  // any alignment. Throws CorruptModelCheckpointError naming the tensor, file
  // offset and errno text on a short read, end of file or I/O error (the file
  // may have been truncated after it was opened), and for strided entries of
  // sub-byte dtypes (no reader makes them).
  void ReadInto(const TensorEntry& entry, void* dst) const;

  // Copies the slice of `entry` holding `length` entries from `start` along
  // dimension `dim`, row-major and contiguous, into `dst` (which must hold
  // the slice's bytes). Reads only the slice: one range when it is contiguous
  // in the file (dim 0, or a whole dimension), else one read per run of
  // contiguous elements (a row-parallel shard of a matrix: one per row). A
  // strided entry is read over the span of its slice. Throws as ReadInto, and
  // std::out_of_range for a slice outside the tensor.
  void ReadSliceInto(const TensorEntry& entry, int dim, int64_t start, int64_t length,
                     void* dst) const;

  // Bytes read from the file so far (what pread(2) returned, or what was
  // copied from the map): for reports and tests that count real reads.
  uint64_t bytes_read() const { return bytes_read_.load(); }

  // A new contiguous CPU tensor holding `entry`. Throws
  // UnsupportedDtypeError, naming the file, tensor and dtype, for dtypes
  // LibTorch 1.13 lacks (see TorchDtypeOf), and as ReadInto does.
  at::Tensor Read(const TensorEntry& entry) const;

 private:
  TensorFile() = default;
  void Close() noexcept;
  void CopyContiguous(uint64_t begin, uint64_t size, void* dst, const std::string& what) const;

  std::string path_;
  std::string format_;
  ReadStrategy strategy_ = ReadStrategy::kPread;
  int fd_ = -1;
  uint64_t file_size_ = 0;
  std::vector<TensorEntry> entries_;
  // Keys view the names in entries_, which never changes after SetEntries
  // (moving a std::vector keeps its elements in place).
  std::unordered_map<std::string_view, size_t> index_;
  std::map<std::string, std::string> metadata_;
  void* map_ = nullptr;  // the whole file under ReadStrategy::kMmap
  size_t map_size_ = 0;
  mutable std::atomic<uint64_t> bytes_read_{0};
};

// The LibTorch dtype of `entry`, a tensor of the file at `path`. Throws
// UnsupportedDtypeError naming the file, tensor and dtype where LibTorch 1.13
// has none (F4, F6_*, F8_*, U16, U32, U64).
c10::ScalarType TorchDtypeOf(const std::string& path, const TensorEntry& entry);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CHECKPOINT_TENSOR_FILE_H_
