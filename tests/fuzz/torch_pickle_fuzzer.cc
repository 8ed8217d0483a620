// Fuzzes the restricted unpickler as torch.save files reach it: the input is
// the pickle (data.pkl), stored with a version record and one 64-byte storage
// ("archive/data/0") in an uncompressed zip, and the file is opened as a
// torch checkpoint (weights only, then with `restrict: false`).

#include <zlib.h>

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/checkpoint/torch_checkpoint.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

void PutLe(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// An uncompressed zip of `records` (name, bytes), as torch.save writes one
// (without its 64-byte alignment, which readers do not need).
std::string StoredZip(const std::vector<std::pair<std::string, std::string>>& records) {
  std::string out;
  std::string directory;
  for (const auto& [name, bytes] : records) {
    const uint32_t crc = crc32(0, reinterpret_cast<const Bytef*>(bytes.data()),
                               static_cast<uInt>(bytes.size()));
    const uint64_t local_offset = out.size();
    PutLe(out, 0x04034b50, 4);
    PutLe(out, 20, 2);  // version needed
    PutLe(out, 0, 2);   // flags
    PutLe(out, 0, 2);   // stored
    PutLe(out, 0, 4);   // time, date
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
    PutLe(directory, 0, 2);
    PutLe(directory, 0, 2);
    PutLe(directory, 0, 4);
    PutLe(directory, crc, 4);
    PutLe(directory, bytes.size(), 4);
    PutLe(directory, bytes.size(), 4);
    PutLe(directory, name.size(), 2);
    PutLe(directory, 0, 2);  // extra
    PutLe(directory, 0, 2);  // comment
    PutLe(directory, 0, 2);  // disk
    PutLe(directory, 0, 2);  // internal attributes
    PutLe(directory, 0, 4);  // external attributes
    PutLe(directory, local_offset, 4);
    directory += name;
  }
  const uint64_t directory_offset = out.size();
  out += directory;
  PutLe(out, 0x06054b50, 4);
  PutLe(out, 0, 2);
  PutLe(out, 0, 2);
  PutLe(out, records.size(), 2);
  PutLe(out, records.size(), 2);
  PutLe(out, directory.size(), 4);
  PutLe(out, directory_offset, 4);
  PutLe(out, 0, 2);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelhub;
  if (size > (size_t{1} << 20)) return 0;
  const std::string zip = StoredZip({{"archive/data.pkl", std::string(fuzz::AsText(data, size))},
                                     {"archive/version", "3\n"},
                                     {"archive/data/0", std::string(64, '\x01')}});
  const std::string path = fuzz::WriteScratchFile("model.pt", zip);
  for (const bool restrict : {true, false}) {
    fuzz::ExpectOnly([&] {
      TorchLoadOptions options;
      options.restrict = restrict;
      const TensorFile file = OpenTorchCheckpoint(path, ReadStrategy::kPread, options);
      for (const TensorEntry& entry : file.entries()) {
        if (entry.nbytes() > 4096) continue;
        std::vector<uint8_t> bytes(entry.nbytes());
        file.ReadInto(entry, bytes.data());
      }
    });
  }
  return 0;
}
