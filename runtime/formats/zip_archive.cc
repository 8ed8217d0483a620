#include "runtime/formats/zip_archive.h"

#include <zlib.h>

#include <algorithm>
#include <limits>
#include <unordered_set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

// Record signatures and fixed sizes (APPNOTE.TXT 4.3).
constexpr uint32_t kLocalHeaderSignature = 0x04034b50;
constexpr uint32_t kCentralHeaderSignature = 0x02014b50;
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kEnd64Signature = 0x06064b50;
constexpr uint32_t kEnd64LocatorSignature = 0x07064b50;
constexpr uint32_t kDataDescriptorSignature = 0x08074b50;
constexpr uint64_t kLocalHeaderSize = 30;
constexpr uint64_t kCentralHeaderSize = 46;
constexpr uint64_t kEndSize = 22;
constexpr uint64_t kEnd64Size = 56;
constexpr uint64_t kEnd64LocatorSize = 20;
// The end record's comment is at most this long, so the record lies in the
// last kMaxComment + kEndSize bytes.
constexpr uint64_t kMaxComment = 0xffff;
// The ZIP64 extended information extra field.
constexpr uint16_t kZip64ExtraId = 0x0001;
// General purpose flags: bit 0 encrypted, bit 6 strong encryption.
constexpr uint16_t kEncryptedFlags = 0x0001 | 0x0040;
// General purpose flag bit 3: CRC-32 and sizes follow the data in a data
// descriptor (the local header may hold zeros), as torch.save's miniz writes.
constexpr uint16_t kDataDescriptorFlag = 0x0008;
// A data descriptor: signature, CRC-32, then both sizes in 4 bytes each, or 8
// with ZIP64.
constexpr uint64_t kMaxDataDescriptorSize = 4 + 4 + 8 + 8;
// Ends the messages of a local header that contradicts the central directory.
constexpr char kDisagree[] = ": the local header and the central directory disagree";
// A central directory larger than this is refused (a million records take
// about 100 MiB).
constexpr uint64_t kMaxCentralDirectory = uint64_t{1} << 30;

// Little-endian fields of a byte buffer, bounds checked by the callers.
uint64_t Le(const std::string& bytes, size_t at, size_t size) {
  uint64_t value = 0;
  for (size_t i = size; i-- > 0;) value = (value << 8) | static_cast<uint8_t>(bytes[at + i]);
  return value;
}
uint16_t Le16(const std::string& bytes, size_t at) {
  return static_cast<uint16_t>(Le(bytes, at, 2));
}
uint32_t Le32(const std::string& bytes, size_t at) {
  return static_cast<uint32_t>(Le(bytes, at, 4));
}
uint64_t Le64(const std::string& bytes, size_t at) { return Le(bytes, at, 8); }

// Readable in messages: control characters become '?'.
std::string Printable(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (static_cast<uint8_t>(c) < 0x20 || c == 0x7f) c = '?';
  }
  return out;
}

const char* MethodName(uint16_t method) {
  switch (method) {
    case 8:
      return "deflate";
    case 9:
      return "deflate64";
    case 12:
      return "bzip2";
    case 14:
      return "lzma";
    case 93:
      return "zstd";
    case 95:
      return "xz";
    default:
      return "unknown";
  }
}

// Reads one archive's central directory.
class Reader {
 public:
  Reader(const std::string& path, uint64_t file_size, const ZipReadFunction& read)
      : path_(path), file_size_(file_size), read_(read) {}

  std::vector<ZipRecord> Run() {
    FindEnd();
    std::vector<ZipRecord> records = ReadCentralDirectory();
    std::vector<uint64_t> ends(records.size());
    for (size_t i = 0; i < records.size(); ++i) ends[i] = ReadLocalHeader(records[i], i);
    CheckNoOverlap(records, ends);
    return records;
  }

 private:
  [[noreturn]] void Fail(const std::string& message) const {
    throw CorruptModelCheckpointError(path_, message);
  }

  std::string ReadAt(uint64_t offset, uint64_t size, std::string_view what) const {
    std::string bytes(size, '\0');
    read_(offset, size, bytes.data(), what);
    return bytes;
  }

  // Finds the end of central directory record (and the ZIP64 one when there
  // is one) and reads where the central directory is.
  void FindEnd() {
    if (file_size_ < kEndSize) {
      Fail(absl::StrCat("not a zip archive: ", file_size_,
                        " bytes are too few for an end of central directory record"));
    }
    const uint64_t tail_size = std::min(file_size_, kMaxComment + kEndSize);
    const uint64_t tail_start = file_size_ - tail_size;
    const std::string tail = ReadAt(tail_start, tail_size, "the end of the zip archive");
    // The last signature whose comment reaches exactly to the end of the file.
    uint64_t end_at = std::numeric_limits<uint64_t>::max();
    for (uint64_t i = tail_size - kEndSize + 1; i-- > 0;) {
      if (Le32(tail, i) == kEndSignature && i + kEndSize + Le16(tail, i + 20) == tail_size) {
        end_at = i;
        break;
      }
    }
    if (end_at == std::numeric_limits<uint64_t>::max()) {
      Fail(absl::StrCat("no zip end of central directory record in the last ", tail_size,
                        " bytes of the file (", file_size_,
                        " bytes): the file is truncated or not a zip archive"));
    }
    end_offset_ = tail_start + end_at;
    const uint16_t disk = Le16(tail, end_at + 4);
    const uint16_t central_disk = Le16(tail, end_at + 6);
    const uint16_t disk_entries = Le16(tail, end_at + 8);
    entries_ = Le16(tail, end_at + 10);
    central_size_ = Le32(tail, end_at + 12);
    central_offset_ = Le32(tail, end_at + 16);
    directory_end_ = end_offset_;

    // A ZIP64 locator sits just before the end record.
    const bool zip64 = end_at >= kEnd64LocatorSize &&
                       Le32(tail, end_at - kEnd64LocatorSize) == kEnd64LocatorSignature;
    if (zip64) {
      const uint64_t locator_at = end_at - kEnd64LocatorSize;
      const uint64_t locator_offset = tail_start + locator_at;
      const uint64_t end64_offset = Le64(tail, locator_at + 8);
      if (Le32(tail, locator_at + 4) != 0 || Le32(tail, locator_at + 16) > 1) {
        Fail(absl::StrCat("the zip archive spans several disks (ZIP64 locator at byte ",
                          locator_offset, "); only single-file archives are supported"));
      }
      if (end64_offset > locator_offset || locator_offset - end64_offset < kEnd64Size) {
        Fail(absl::StrCat("the ZIP64 locator at byte ", locator_offset,
                          " points its end of central directory record to byte ", end64_offset,
                          ", which does not fit before the locator"));
      }
      const std::string end64 =
          ReadAt(end64_offset, kEnd64Size, "the ZIP64 end of central directory record");
      if (Le32(end64, 0) != kEnd64Signature) {
        Fail(absl::StrCat("no ZIP64 end of central directory record at byte ", end64_offset,
                          ", where the ZIP64 locator at byte ", locator_offset, " points"));
      }
      if (Le32(end64, 16) != 0 || Le32(end64, 20) != 0) {
        Fail(absl::StrCat("the zip archive spans several disks (ZIP64 end record at byte ",
                          end64_offset, "); only single-file archives are supported"));
      }
      entries_ = Le64(end64, 32);
      central_size_ = Le64(end64, 40);
      central_offset_ = Le64(end64, 48);
      directory_end_ = end64_offset;
    } else {
      if (disk != 0 || central_disk != 0 || disk_entries != entries_) {
        Fail(absl::StrCat("the zip archive spans several disks (end record at byte ", end_offset_,
                          "); only single-file archives are supported"));
      }
      if (entries_ == 0xffff || central_size_ == 0xffffffff || central_offset_ == 0xffffffff) {
        Fail(absl::StrCat("the zip end of central directory record at byte ", end_offset_,
                          " needs ZIP64 but no ZIP64 locator precedes it"));
      }
    }

    if (central_offset_ > file_size_ || central_size_ > file_size_ - central_offset_) {
      Fail(absl::StrCat("the zip central directory (", central_size_, " bytes at byte ",
                        central_offset_, ") passes the end of the file (", file_size_,
                        " bytes): the file is truncated or corrupt"));
    }
    if (central_offset_ + central_size_ > directory_end_) {
      Fail(absl::StrCat("the zip central directory (", central_size_, " bytes at byte ",
                        central_offset_, ") overlaps the end of central directory record at byte ",
                        directory_end_));
    }
    if (central_size_ > kMaxCentralDirectory) {
      Fail(absl::StrCat("the zip central directory at byte ", central_offset_, " has ",
                        central_size_, " bytes, more than the limit of ", kMaxCentralDirectory));
    }
    if (entries_ > central_size_ / kCentralHeaderSize) {
      Fail(absl::StrCat("the zip end of central directory record at byte ", end_offset_, " claims ",
                        entries_, " records, more than its ", central_size_,
                        "-byte central directory can hold"));
    }
  }

  std::vector<ZipRecord> ReadCentralDirectory() {
    const std::string directory =
        ReadAt(central_offset_, central_size_, "the zip central directory");
    std::vector<ZipRecord> records;
    records.reserve(entries_);
    uint64_t at = 0;
    for (uint64_t i = 0; i < entries_; ++i) {
      const uint64_t header_offset = central_offset_ + at;
      if (central_size_ - at < kCentralHeaderSize) {
        Fail(absl::StrCat("the zip central directory ends at byte ",
                          central_offset_ + central_size_, " inside its header ", i, " of ",
                          entries_));
      }
      if (Le32(directory, at) != kCentralHeaderSignature) {
        Fail(absl::StrCat("no zip central directory header at byte ", header_offset, " (record ", i,
                          " of ", entries_, ")"));
      }
      const uint16_t flags = Le16(directory, at + 8);
      const uint16_t method = Le16(directory, at + 10);
      const uint32_t crc = Le32(directory, at + 16);
      uint64_t compressed = Le32(directory, at + 20);
      uint64_t size = Le32(directory, at + 24);
      const uint16_t name_length = Le16(directory, at + 28);
      const uint16_t extra_length = Le16(directory, at + 30);
      const uint16_t comment_length = Le16(directory, at + 32);
      uint64_t disk = Le16(directory, at + 34);
      uint64_t local_offset = Le32(directory, at + 42);
      const uint64_t variable = uint64_t{name_length} + extra_length + comment_length;
      if (central_size_ - at - kCentralHeaderSize < variable) {
        Fail(absl::StrCat("the zip central directory header at byte ", header_offset,
                          " passes the end of the central directory"));
      }
      std::string name = directory.substr(at + kCentralHeaderSize, name_length);
      const std::string label =
          absl::StrCat("zip record '", Printable(name), "' (central directory header at byte ",
                       header_offset, ")");

      // ZIP64: each field that is all ones is in the extra field instead.
      const uint64_t extra_at = at + kCentralHeaderSize + name_length;
      uint64_t e = 0;
      while (e + 4 <= extra_length) {
        const uint16_t id = Le16(directory, extra_at + e);
        const uint16_t length = Le16(directory, extra_at + e + 2);
        if (e + 4 + length > extra_length) {
          Fail(absl::StrCat(label, ": its extra field passes the end of the extra data"));
        }
        if (id == kZip64ExtraId) {
          uint64_t f = extra_at + e + 4;
          const uint64_t f_end = f + length;
          auto take = [&](uint64_t& field, size_t bytes, const char* what) {
            if (f_end - f < bytes) {
              Fail(absl::StrCat(label, ": its ZIP64 extra field has no ", what));
            }
            field = Le(directory, f, bytes);
            f += bytes;
          };
          if (size == 0xffffffff) take(size, 8, "size");
          if (compressed == 0xffffffff) take(compressed, 8, "compressed size");
          if (local_offset == 0xffffffff) take(local_offset, 8, "local header offset");
          if (disk == 0xffff) take(disk, 4, "disk number");
        }
        e += 4 + length;
      }

      if ((flags & kEncryptedFlags) != 0) {
        Fail(absl::StrCat(label, " is encrypted; torch.save never encrypts"));
      }
      if (method != 0) {
        Fail(absl::StrCat(label, " is compressed (method ", method, ", ", MethodName(method),
                          "); torch.save stores records uncompressed"));
      }
      if (compressed != size) {
        Fail(absl::StrCat(label, " is stored uncompressed yet claims ", compressed,
                          " compressed bytes for ", size, " bytes"));
      }
      if (!names_.insert(name).second) {
        Fail(absl::StrCat(label, ": a record of that name comes before it (duplicate name)"));
      }
      if (disk != 0) {
        Fail(absl::StrCat(label, " starts on disk ", disk,
                          "; only single-file archives are supported"));
      }
      ZipRecord record;
      record.name = std::move(name);
      record.size = size;
      record.crc32 = crc;
      record.header_offset = local_offset;
      records.push_back(std::move(record));
      labels_.push_back(label);
      at += kCentralHeaderSize + variable;
    }
    return records;
  }

  // Reads the local header of record `index` (`record`), checks that it
  // agrees with the central directory (name, method, CRC-32 and sizes, its
  // extra field well formed, and the data descriptor after the data, if any),
  // and sets the record's data offset. Returns where the record ends: past
  // its data and data descriptor.
  uint64_t ReadLocalHeader(ZipRecord& record, size_t index) {
    const std::string& label = labels_[index];
    const uint64_t header = record.header_offset;
    const uint64_t name_length = record.name.size();
    if (header > file_size_ || file_size_ - header < kLocalHeaderSize + name_length) {
      Fail(absl::StrCat(label, ": its local header at byte ", header,
                        " passes the end of the file (", file_size_, " bytes)"));
    }
    const std::string bytes =
        ReadAt(header, kLocalHeaderSize + name_length, absl::StrCat("the local header of ", label));
    if (Le32(bytes, 0) != kLocalHeaderSignature) {
      Fail(absl::StrCat(label, ": no local header at byte ", header));
    }
    const uint16_t flags = Le16(bytes, 6);
    if ((flags & kEncryptedFlags) != 0) {
      Fail(absl::StrCat(label, " is encrypted (local header at byte ", header, ")"));
    }
    const uint16_t local_name_length = Le16(bytes, 26);
    const uint16_t local_extra_length = Le16(bytes, 28);
    if (local_name_length != name_length ||
        bytes.compare(kLocalHeaderSize, name_length, record.name) != 0) {
      std::string local_name =
          bytes.substr(kLocalHeaderSize, std::min<uint64_t>(local_name_length, name_length));
      Fail(absl::StrCat(label, ": its local header at byte ", header, " names it '",
                        Printable(local_name), local_name_length > name_length ? "...'" : "'",
                        " instead"));
    }
    const std::string local = absl::StrCat(label, ": its local header at byte ", header);
    if (const uint16_t method = Le16(bytes, 8); method != 0) {
      Fail(absl::StrCat(local, " says compression method ", method, " (", MethodName(method),
                        "), the central directory says stored (0)", kDisagree));
    }
    const uint64_t extra_at = header + kLocalHeaderSize + name_length;
    if (extra_at > file_size_ || file_size_ - extra_at < local_extra_length) {
      Fail(absl::StrCat(local, " has a ", local_extra_length, "-byte extra field at byte ",
                        extra_at, " that passes the end of the file (", file_size_, " bytes)"));
    }
    const std::string extra =
        ReadAt(extra_at, local_extra_length, absl::StrCat("the local extra field of ", label));
    uint64_t crc = Le32(bytes, 14);
    uint64_t compressed = Le32(bytes, 18);
    uint64_t size = Le32(bytes, 22);
    ReadLocalExtra(extra, extra_at, local, &size, &compressed);

    record.offset = extra_at + local_extra_length;
    if (record.offset > file_size_ || record.size > file_size_ - record.offset) {
      Fail(absl::StrCat(label, " claims ", record.size, " bytes of data at byte ", record.offset,
                        ", past the end of the file (", file_size_,
                        " bytes): the file is truncated or the record is a zip bomb"));
    }
    const bool descriptor = (flags & kDataDescriptorFlag) != 0;
    const bool local_zeros = crc == 0 && compressed == 0 && size == 0;
    if (!(descriptor && local_zeros) &&
        (crc != record.crc32 || compressed != record.size || size != record.size)) {
      Fail(absl::StrFormat(
          "%s says CRC-32 %08x, %d compressed and %d uncompressed bytes, but the central "
          "directory says CRC-32 %08x and %d bytes%s",
          local, crc, compressed, size, record.crc32, record.size, kDisagree));
    }
    const uint64_t data_end = record.offset + record.size;
    return descriptor ? data_end + CheckDataDescriptor(record, label, data_end) : data_end;
  }

  // Checks that the local extra field at byte `at` (`extra`) is a sequence of
  // well-formed blocks, and takes the sizes of its ZIP64 block where the
  // local header's are all ones. `local` names the local header.
  void ReadLocalExtra(const std::string& extra, uint64_t at, const std::string& local,
                      uint64_t* size, uint64_t* compressed) const {
    uint64_t e = 0;
    while (extra.size() - e >= 4) {
      const uint16_t id = Le16(extra, e);
      const uint16_t length = Le16(extra, e + 2);
      if (extra.size() - e - 4 < length) {
        Fail(absl::StrFormat(
            "%s has a %d-byte extra field whose block at byte %d (id 0x%04x) claims %d bytes, "
            "past the end of the extra field at byte %d%s",
            local, extra.size(), at + e, id, length, at + extra.size(), kDisagree));
      }
      if (id == kZip64ExtraId) {
        uint64_t f = e + 4;
        const uint64_t f_end = f + length;
        for (uint64_t* field : {size, compressed}) {
          if (*field != 0xffffffff) continue;
          if (f_end - f < 8) {
            Fail(absl::StrCat(local, ": its ZIP64 extra field at byte ", at + e,
                              " lacks the sizes the local header defers to it"));
          }
          *field = Le64(extra, f);
          f += 8;
        }
      }
      e += 4 + length;
    }
    // Fewer than 4 bytes cannot be a block; zeros are tolerated as padding.
    for (; e < extra.size(); ++e) {
      if (extra[e] != '\0') {
        Fail(absl::StrCat(local, " has a ", extra.size(), "-byte extra field whose last ",
                          extra.size() - e, " byte(s), at byte ", at + e, ", are no block",
                          kDisagree));
      }
    }
  }

  // Checks the data descriptor of `record` at byte `at` (just past its data)
  // against the central directory, and returns its size. A descriptor that
  // does not match means the data is not where the local header puts it.
  uint64_t CheckDataDescriptor(const ZipRecord& record, const std::string& label,
                               uint64_t at) const {
    const uint64_t available = std::min(kMaxDataDescriptorSize, file_size_ - at);
    const std::string bytes = ReadAt(at, available, absl::StrCat("the data descriptor of ", label));
    // The signature is optional in APPNOTE.TXT, but torch.save's miniz (and
    // Python's zipfile) always write it; requiring it catches data read 4
    // bytes late, whose descriptor would otherwise match without it. Sizes
    // take 4 bytes each, or 8 (ZIP64).
    if (bytes.size() >= 4 && Le32(bytes, 0) == kDataDescriptorSignature) {
      for (const uint64_t width : {uint64_t{4}, uint64_t{8}}) {
        const uint64_t end = 8 + 2 * width;
        if (bytes.size() >= end && Le32(bytes, 4) == record.crc32 &&
            Le(bytes, 8, width) == record.size && Le(bytes, 8 + width, width) == record.size) {
          return end;
        }
      }
    }
    Fail(absl::StrFormat(
        "%s: no data descriptor at byte %d, past its %d bytes of data at byte %d, matches the "
        "central directory (CRC-32 %08x, %d bytes)%s",
        label, at, record.size, record.offset, record.crc32, record.size, kDisagree));
  }

  // Checks that no record's data (and data descriptor), ending at `ends`,
  // runs into the next local header or into the central directory.
  void CheckNoOverlap(const std::vector<ZipRecord>& records,
                      const std::vector<uint64_t>& ends) const {
    std::vector<size_t> order(records.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return records[a].header_offset < records[b].header_offset;
    });
    for (size_t k = 0; k < order.size(); ++k) {
      const size_t i = order[k];
      const bool last = k + 1 == order.size();
      const uint64_t next = last ? central_offset_ : records[order[k + 1]].header_offset;
      if (ends[i] <= next) continue;
      if (records[i].header_offset >= central_offset_) {
        Fail(absl::StrCat(labels_[i], ": its local header at byte ", records[i].header_offset,
                          " is not before the central directory at byte ", central_offset_));
      }
      Fail(absl::StrCat(labels_[i], ": its data at byte ", records[i].offset, " runs to byte ",
                        ends[i], ", into ",
                        last ? "the central directory"
                             : absl::StrCat("the local header of zip record '",
                                            Printable(records[order[k + 1]].name), "'"),
                        " at byte ", next, kDisagree));
    }
  }

  const std::string& path_;
  uint64_t file_size_;
  const ZipReadFunction& read_;
  uint64_t end_offset_ = 0;
  uint64_t directory_end_ = 0;
  uint64_t entries_ = 0;
  uint64_t central_size_ = 0;
  uint64_t central_offset_ = 0;
  std::vector<std::string> labels_;  // names each record in messages
  std::unordered_set<std::string> names_;
};

}  // namespace

ZipArchive ZipArchive::Read(const std::string& path, uint64_t file_size, ZipReadFunction read) {
  ZipArchive archive;
  archive.path_ = path;
  archive.read_ = std::move(read);
  Reader reader(archive.path_, file_size, archive.read_);
  archive.records_ = reader.Run();
  for (size_t i = 0; i < archive.records_.size(); ++i) {
    archive.index_.emplace(archive.records_[i].name, i);
  }
  return archive;
}

const ZipRecord* ZipArchive::Find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &records_[it->second];
}

std::string ZipArchive::ReadRecord(const ZipRecord& record, uint64_t max_size) const {
  const std::string label = absl::StrCat("zip record '", Printable(record.name), "'");
  if (record.size > max_size) {
    throw CorruptModelCheckpointError(
        path_, absl::StrCat(label, " at byte ", record.offset, " has ", record.size,
                            " bytes, more than the limit of ", max_size));
  }
  std::string data(record.size, '\0');
  read_(record.offset, record.size, data.data(), label);
  // zlib's crc32 takes at most 4 GiB per call (uInt lengths).
  uLong crc = crc32(0L, Z_NULL, 0);
  for (size_t at = 0; at < data.size();) {
    const size_t chunk = std::min<size_t>(data.size() - at, size_t{1} << 30);
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data.data() + at), static_cast<uInt>(chunk));
    at += chunk;
  }
  if (static_cast<uint32_t>(crc) != record.crc32) {
    throw CorruptModelCheckpointError(
        path_, absl::StrFormat("%s at byte %d: its CRC-32 is %08x but the central directory "
                               "says %08x; the file is corrupt",
                               label, record.offset, static_cast<uint32_t>(crc), record.crc32));
  }
  return data;
}

}  // namespace modelhub
