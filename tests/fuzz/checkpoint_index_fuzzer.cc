// Fuzzes the reader of sharded checkpoints' index files
// (model.safetensors.index.json): JSON, weight_map and shard file names.

#include <cstdint>

#include "runtime/formats/checkpoint_files.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelhub;
  const std::string path =
      fuzz::WriteScratchFile("model.safetensors.index.json", fuzz::AsText(data, size));
  fuzz::ExpectOnly([&] { ReadCheckpointIndex(path); });
  return 0;
}
