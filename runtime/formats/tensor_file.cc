#include "runtime/formats/tensor_file.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

// Bytes read by one pread(2).
constexpr size_t kReadChunk = size_t{16} << 20;

std::string ErrnoText(int error) { return std::generic_category().message(error); }

std::string TensorLabel(const TensorEntry& entry) {
  return absl::StrCat("tensor '", entry.name, "'");
}

// A LibTorch type whose elements are as wide as `dtype`'s (whole bytes), to
// move any dtype's elements (LibTorch 1.13 lacks float8, wide unsigned types
// and complex numbers as integers).
c10::ScalarType SameSizeType(size_t element_size) {
  switch (element_size) {
    case 1:
      return c10::ScalarType::Byte;
    case 2:
      return c10::ScalarType::Short;
    case 4:
      return c10::ScalarType::Int;
    case 8:
      return c10::ScalarType::Long;
    default:
      return c10::ScalarType::ComplexDouble;  // 16 bytes: C128
  }
}

}  // namespace

UnsupportedDtypeError::UnsupportedDtypeError(std::string path, std::string tensor,
                                             TensorDtype dtype, const std::string& why)
    : Error(absl::StrCat(path, ": tensor '", tensor, "' has unsupported dtype ",
                         std::string(TensorDtypeName(dtype)), " (", why, ")")),
      path_(std::move(path)),
      tensor_(std::move(tensor)),
      dtype_(dtype) {}

c10::ScalarType TorchDtypeOf(const std::string& path, const TensorEntry& entry) {
  const std::optional<c10::ScalarType> type = ToScalarType(entry.dtype);
  if (!type) {
    throw UnsupportedDtypeError(path, entry.name, entry.dtype,
                                "LibTorch 1.13 has no such type; modelhub can list the tensor "
                                "but not load it");
  }
  return *type;
}

int64_t TensorEntry::numel() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

uint64_t TensorEntry::nbytes() const {
  return static_cast<uint64_t>(numel()) * TensorDtypeBits(dtype) / 8;
}

TensorFile TensorFile::Open(const std::string& path, ReadStrategy strategy, std::string format) {
  TensorFile file;
  file.path_ = path;
  file.format_ = std::move(format);
  file.strategy_ = strategy;
  file.fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (file.fd_ < 0) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR) throw AssetNotFoundError(path);
    throw CorruptModelCheckpointError(path, absl::StrCat("cannot open the ", file.format_,
                                                         " file for reading: ", ErrnoText(error)));
  }
  struct stat st;
  if (::fstat(file.fd_, &st) != 0) {
    const int error = errno;
    throw CorruptModelCheckpointError(
        path, absl::StrCat("cannot stat the ", file.format_, " file: ", ErrnoText(error)));
  }
  if (!S_ISREG(st.st_mode)) throw CorruptModelCheckpointError(path, "not a regular file");
  file.file_size_ = static_cast<uint64_t>(st.st_size);
  return file;
}

void TensorFile::SetEntries(std::vector<TensorEntry> entries,
                            std::map<std::string, std::string> metadata) {
  std::stable_sort(entries.begin(), entries.end(),
                   [](const TensorEntry& a, const TensorEntry& b) { return a.begin < b.begin; });
  entries_ = std::move(entries);
  index_.clear();
  index_.reserve(entries_.size());
  for (size_t i = 0; i < entries_.size(); ++i) index_.emplace(entries_[i].name, i);
  metadata_ = std::move(metadata);
  if (strategy_ == ReadStrategy::kMmap && map_ == nullptr && file_size_ > 0) {
    void* map = ::mmap(nullptr, file_size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (map == MAP_FAILED) {
      const int error = errno;
      throw CorruptModelCheckpointError(
          path_, absl::StrCat("cannot map the ", file_size_,
                              "-byte file into memory (mmap): ", ErrnoText(error)));
    }
    map_ = map;
    map_size_ = file_size_;
  }
}

TensorFile::TensorFile(TensorFile&& other) noexcept
    : path_(std::move(other.path_)),
      format_(std::move(other.format_)),
      strategy_(other.strategy_),
      fd_(std::exchange(other.fd_, -1)),
      file_size_(other.file_size_),
      entries_(std::move(other.entries_)),
      index_(std::move(other.index_)),
      metadata_(std::move(other.metadata_)),
      map_(std::exchange(other.map_, nullptr)),
      map_size_(std::exchange(other.map_size_, 0)),
      bytes_read_(other.bytes_read_.load()) {}

TensorFile& TensorFile::operator=(TensorFile&& other) noexcept {
  if (this != &other) {
    Close();
    path_ = std::move(other.path_);
    format_ = std::move(other.format_);
    strategy_ = other.strategy_;
    fd_ = std::exchange(other.fd_, -1);
    file_size_ = other.file_size_;
    entries_ = std::move(other.entries_);
    index_ = std::move(other.index_);
    metadata_ = std::move(other.metadata_);
    map_ = std::exchange(other.map_, nullptr);
    map_size_ = std::exchange(other.map_size_, 0);
    bytes_read_ = other.bytes_read_.load();
  }
  return *this;
}

TensorFile::~TensorFile() { Close(); }

void TensorFile::Close() noexcept {
  if (map_ != nullptr) ::munmap(map_, map_size_);
  if (fd_ >= 0) ::close(fd_);
  map_ = nullptr;
  map_size_ = 0;
  fd_ = -1;
}

const TensorEntry* TensorFile::Find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

void TensorFile::ReadBytes(uint64_t offset, size_t size, void* dst, std::string_view what) const {
  char* out = static_cast<char*>(dst);
  size_t done = 0;
  while (done < size) {
    const size_t chunk = std::min(size - done, kReadChunk);
    const ssize_t got = ::pread(fd_, out + done, chunk, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      throw CorruptModelCheckpointError(
          path_, absl::StrCat("cannot read ", std::string(what), " at file offset ", offset + done,
                              ": ", ErrnoText(error)));
    }
    if (got == 0) {
      throw CorruptModelCheckpointError(
          path_,
          absl::StrCat("unexpected end of file at file offset ", offset + done, " reading ",
                       std::string(what), " (file offsets ", offset, " to ", offset + size, "; ",
                       size - done, " bytes missing): was it truncated after it was opened?"));
    }
    done += static_cast<size_t>(got);
    bytes_read_ += static_cast<uint64_t>(got);
  }
}

void TensorFile::CopyContiguous(uint64_t begin, uint64_t size, void* dst,
                                const std::string& what) const {
  if (size == 0) return;
  if (map_ == nullptr) {
    ReadBytes(begin, size, dst, what);
    return;
  }
  // Touching mapped pages past the end of a file that shrank would raise
  // SIGBUS: check the size first (this cannot guard against a concurrent
  // truncation).
  struct stat st;
  if (::fstat(fd_, &st) != 0) {
    const int error = errno;
    throw CorruptModelCheckpointError(
        path_, absl::StrCat("cannot stat the file to read ", what, ": ", ErrnoText(error)));
  }
  const uint64_t now = std::min<uint64_t>(static_cast<uint64_t>(st.st_size), map_size_);
  const uint64_t end = begin + size;
  if (end > now) {
    throw CorruptModelCheckpointError(
        path_, absl::StrCat("unexpected end of file reading ", what, " at file offsets ", begin,
                            " to ", end, ": the file now has ", now,
                            " bytes (was it truncated after it was opened?)"));
  }
  char* base = static_cast<char*>(map_);
  const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t first_page = begin / page * page;
  // Advice only: failure just means no read-ahead.
  ::madvise(base + first_page, end - first_page, MADV_WILLNEED);
  std::memcpy(dst, base + begin, size);
  bytes_read_ += size;
  // Unmap the pages just copied (the page cache keeps them): otherwise every
  // mapped page counts as resident until the file closes, doubling peak RSS.
  ::madvise(base + first_page, end - first_page, MADV_DONTNEED);
}

void TensorFile::ReadInto(const TensorEntry& entry, void* dst) const {
  const std::string what = TensorLabel(entry);
  if (entry.contiguous()) {
    CopyContiguous(entry.begin, entry.nbytes(), dst, what);
    return;
  }
  // Strided: read the span holding every element, then gather the elements.
  const size_t element_size = TensorDtypeSize(entry.dtype);
  if (element_size == 0) {
    throw CorruptModelCheckpointError(
        path_, absl::StrCat(what, " of sub-byte dtype ", std::string(TensorDtypeName(entry.dtype)),
                            " is strided; only contiguous ones can be read"));
  }
  const c10::ScalarType type = SameSizeType(element_size);
  const int64_t element = static_cast<int64_t>(element_size);
  const int64_t span = static_cast<int64_t>(entry.end - entry.begin);
  try {
    at::Tensor bytes = at::empty({(span + element - 1) / element}, at::TensorOptions().dtype(type));
    CopyContiguous(entry.begin, static_cast<uint64_t>(span), bytes.data_ptr(), what);
    at::from_blob(dst, entry.shape, at::TensorOptions().dtype(type))
        .copy_(bytes.as_strided(entry.shape, entry.strides));
  } catch (const c10::Error& error) {
    throw TorchError(absl::StrCat("reading ", what, " of ", path_), error.what_without_backtrace());
  }
}

void TensorFile::ReadSliceInto(const TensorEntry& entry, int dim, int64_t start, int64_t length,
                               void* dst) const {
  const int64_t rank = static_cast<int64_t>(entry.shape.size());
  if (dim < 0 || dim >= rank || start < 0 || length < 0 || start + length > entry.shape[dim]) {
    throw std::out_of_range(absl::StrCat("slice [", start, ", ", start + length, ") of dim ", dim,
                                         " is outside ", TensorLabel(entry)));
  }
  TensorEntry slice = entry;
  slice.shape[dim] = length;
  if (length == 0 || slice.numel() == 0) return;
  const uint64_t element_bits = TensorDtypeBits(entry.dtype);
  if (!entry.contiguous()) {
    // The slice of a strided entry is a strided entry over a smaller span.
    const uint64_t element = element_bits / 8;
    slice.begin = entry.begin + static_cast<uint64_t>(start * entry.strides[dim]) * element;
    uint64_t last = 0;
    for (int64_t d = 0; d < rank; ++d) {
      last += static_cast<uint64_t>((slice.shape[d] - 1) * slice.strides[d]);
    }
    slice.end = slice.begin + (last + 1) * element;
    ReadInto(slice, dst);
    return;
  }
  int64_t outer = 1;
  for (int64_t d = 0; d < dim; ++d) outer *= entry.shape[d];
  int64_t inner = 1;
  for (int64_t d = dim + 1; d < rank; ++d) inner *= entry.shape[d];
  // Bytes of one run (`length` rows of the inner block) and between runs.
  const uint64_t run_bits = static_cast<uint64_t>(length * inner) * element_bits;
  const uint64_t step_bits = static_cast<uint64_t>(entry.shape[dim] * inner) * element_bits;
  const uint64_t start_bits = static_cast<uint64_t>(start * inner) * element_bits;
  if (run_bits % 8 != 0 || step_bits % 8 != 0 || start_bits % 8 != 0) {
    throw CorruptModelCheckpointError(
        path_, absl::StrCat("a slice of ", TensorLabel(entry), " of sub-byte dtype ",
                            std::string(TensorDtypeName(entry.dtype)),
                            " does not start and end on whole bytes"));
  }
  const std::string what = absl::StrCat("a slice of ", TensorLabel(entry));
  char* out = static_cast<char*>(dst);
  if (outer == 1 || length == entry.shape[dim]) {
    CopyContiguous(entry.begin + start_bits / 8, static_cast<uint64_t>(outer) * run_bits / 8, out,
                   what);
    return;
  }
  for (int64_t o = 0; o < outer; ++o) {
    CopyContiguous(entry.begin + static_cast<uint64_t>(o) * step_bits / 8 + start_bits / 8,
                   run_bits / 8, out + static_cast<uint64_t>(o) * run_bits / 8, what);
  }
}

at::Tensor TensorFile::Read(const TensorEntry& entry) const {
  const c10::ScalarType type = TorchDtypeOf(path_, entry);
  at::Tensor tensor;
  try {
    tensor = at::empty(entry.shape, at::TensorOptions().dtype(type));
  } catch (const c10::Error& error) {
    throw TorchError(absl::StrCat("allocating ", TensorLabel(entry), " of ", path_),
                     error.what_without_backtrace());
  }
  ReadInto(entry, tensor.data_ptr());
  return tensor;
}

}  // namespace modelhub
