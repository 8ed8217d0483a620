#ifndef MODELHUB_RUNTIME_CHECKPOINT_ZIP_ARCHIVE_H_
#define MODELHUB_RUNTIME_CHECKPOINT_ZIP_ARCHIVE_H_

// A reader of the central directory of uncompressed zip archives, the
// container torch.save writes. It finds where each record's bytes start in
// the file, so that tensors can be read with pread(2) straight into their
// destination, from many threads at once (libarchive only streams, libzip
// hides data offsets). Only what torch.save writes is accepted: stored
// (uncompressed), unencrypted records in a single-disk archive, with or
// without ZIP64 extensions.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace modelhub {

// One record (file) of a zip archive.
struct ZipRecord {
  // The record's name in the central directory ("archive/data/0").
  std::string name;
  // The absolute file offset of the record's first data byte.
  uint64_t offset = 0;
  // The number of data bytes (stored records: compressed size == size).
  uint64_t size = 0;
  // The CRC-32 the central directory gives for the data.
  uint32_t crc32 = 0;
  // The absolute file offset of the record's local header.
  uint64_t header_offset = 0;
};

// Reads `size` bytes at absolute file offset `offset` into `dst`; `what` says
// what is being read, for messages. Must throw (CorruptModelCheckpointError)
// when the file ends first or on an I/O error. TensorFile::ReadBytes fits.
using ZipReadFunction =
    std::function<void(uint64_t offset, size_t size, void* dst, std::string_view what)>;

// The records of a zip archive. Move-only.
class ZipArchive {
 public:
  // Reads the central directory of the `file_size`-byte file at `path`
  // through `read`, then each record's local header. Throws
  // CorruptModelCheckpointError, naming the record and byte offset, when the
  // file has no end of central directory record in its last 64 KiB + 22
  // bytes (truncated, or not a zip), spans several disks, has a central
  // directory or record (header or data) that passes the end of the file (a
  // record claiming terabytes), a compressed or encrypted record, a local
  // header that disagrees with the central directory (name, method, CRC-32 or
  // sizes; an extra field that is no sequence of blocks; a data descriptor
  // after the data that does not match: signs that its extra-field length
  // puts the data at the wrong place), a record whose data runs into the next
  // local header or the central directory, or a name twice.
  // `read` is kept for ReadRecord: it must stay valid while this lives.
  static ZipArchive Read(const std::string& path, uint64_t file_size, ZipReadFunction read);

  ZipArchive(ZipArchive&&) = default;
  ZipArchive& operator=(ZipArchive&&) = default;
  ZipArchive(const ZipArchive&) = delete;
  ZipArchive& operator=(const ZipArchive&) = delete;

  // Every record, in central directory order.
  const std::vector<ZipRecord>& records() const { return records_; }
  // The record named `name`, or null if there is none. Valid while this lives.
  const ZipRecord* Find(std::string_view name) const;

  // The data of `record` (one of records()), read fully into memory, its
  // CRC-32 checked against the central directory's. Meant for small records
  // (data.pkl, version, byteorder); tensor data is read in place and its CRC
  // is not checked (too slow for weights). Throws CorruptModelCheckpointError
  // when the record is larger than `max_size` or its CRC-32 differs.
  std::string ReadRecord(const ZipRecord& record, uint64_t max_size) const;

  // The path given to Read, for messages.
  const std::string& path() const { return path_; }

 private:
  ZipArchive() = default;

  std::string path_;
  ZipReadFunction read_;
  std::vector<ZipRecord> records_;
  // Keys view the names in records_, whose elements never move after Read
  // (moving a std::vector keeps its elements in place).
  std::unordered_map<std::string_view, size_t> index_;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CHECKPOINT_ZIP_ARCHIVE_H_
