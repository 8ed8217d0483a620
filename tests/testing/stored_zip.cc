#include "tests/testing/stored_zip.h"

#include <zlib.h>

#include <cstdint>

namespace modelhub::testing {
namespace {

void PutLe(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

}  // namespace

std::string StoredZip(const std::vector<std::pair<std::string, std::string>>& records) {
  std::string out;
  std::string directory;
  for (const auto& [name, bytes] : records) {
    const uint32_t crc =
        crc32(0, reinterpret_cast<const Bytef*>(bytes.data()), static_cast<uInt>(bytes.size()));
    const uint64_t local_offset = out.size();
    PutLe(out, 0x04034b50, 4);
    PutLe(out, 20, 2);  // version needed
    PutLe(out, 0, 8);   // flags, method (stored), time, date
    PutLe(out, crc, 4);
    PutLe(out, bytes.size(), 4);
    PutLe(out, bytes.size(), 4);
    PutLe(out, name.size(), 2);
    PutLe(out, 0, 2);  // extra length
    out += name;
    out += bytes;
    PutLe(directory, 0x02014b50, 4);
    PutLe(directory, 20, 2);  // version made by
    PutLe(directory, 20, 2);  // version needed
    PutLe(directory, 0, 8);   // flags, method, time, date
    PutLe(directory, crc, 4);
    PutLe(directory, bytes.size(), 4);
    PutLe(directory, bytes.size(), 4);
    PutLe(directory, name.size(), 2);
    PutLe(directory, 0, 8);  // extra, comment, disk, internal attributes
    PutLe(directory, 0, 4);  // external attributes
    PutLe(directory, local_offset, 4);
    directory += name;
  }
  const uint64_t directory_offset = out.size();
  out += directory;
  PutLe(out, 0x06054b50, 4);
  PutLe(out, 0, 4);  // disk numbers
  PutLe(out, records.size(), 2);
  PutLe(out, records.size(), 2);
  PutLe(out, directory.size(), 4);
  PutLe(out, directory_offset, 4);
  PutLe(out, 0, 2);  // comment length
  return out;
}

}  // namespace modelhub::testing
