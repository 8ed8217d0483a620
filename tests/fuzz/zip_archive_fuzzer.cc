// Fuzzes the zip central-directory reader torch.save files go through: the end
// of central directory record, ZIP64 records, central and local headers, then
// reads each small record (CRC-32 checked), all from memory.

#include <cstdint>
#include <cstring>
#include <string>

#include "runtime/formats/zip_archive.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelhub;
  const std::string path = "fuzz.pt";
  auto read = [&](uint64_t offset, size_t length, void* dst, std::string_view what) {
    if (offset > size || length > size - offset) {
      throw CorruptModelCheckpointError(path, "end of file reading " + std::string(what));
    }
    if (length > 0) std::memcpy(dst, data + offset, length);
  };
  fuzz::ExpectOnly([&] {
    const ZipArchive archive = ZipArchive::Read(path, size, read);
    for (const ZipRecord& record : archive.records()) {
      archive.Find(record.name);
      if (record.size <= (uint64_t{1} << 16)) archive.ReadRecord(record, uint64_t{1} << 16);
    }
  });
  return 0;
}
