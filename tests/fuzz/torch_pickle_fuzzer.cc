// Fuzzes the restricted unpickler as torch.save files reach it: the input is
// the pickle (data.pkl), stored with a version record and one 64-byte storage
// ("archive/data/0") in an uncompressed zip, and the file is opened as a
// torch checkpoint (weights only, then with `restrict: false`).

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/formats/torch_checkpoint.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/testing/stored_zip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelhub;
  if (size > (size_t{1} << 20)) return 0;
  const std::string zip =
      testing::StoredZip({{"archive/data.pkl", std::string(fuzz::AsText(data, size))},
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
