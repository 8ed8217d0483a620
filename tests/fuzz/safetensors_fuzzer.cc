// Fuzzes the safetensors reader: header length, JSON header, entries, offsets
// and metadata, then reads every tensor the reader accepted (bytes up to a
// small bound, so that a fuzzer run stays fast).

#include <cstdint>
#include <vector>

#include "runtime/formats/safetensors.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelhub;
  const std::string path = fuzz::WriteScratchFile("model.safetensors", fuzz::AsText(data, size));
  fuzz::ExpectOnly([&] {
    const TensorFile file = OpenSafetensors(path, ReadStrategy::kPread);
    for (const TensorEntry& entry : file.entries()) {
      if (entry.nbytes() > (uint64_t{1} << 20)) continue;
      std::vector<uint8_t> bytes(entry.nbytes());
      file.ReadInto(entry, bytes.data());
    }
  });
  return 0;
}
