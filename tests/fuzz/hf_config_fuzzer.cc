// Fuzzes the reading of Hugging Face config.json files into every family's
// typed config, as loading a checkpoint folder does, and the model
// description derived from it.

#include <cstdint>
#include <string>

#include "runtime/hub/hf_config.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelhub;
  fuzz::ExpectOnly([&] {
    const HfModelConfig config =
        ParseHfConfig(std::string(fuzz::AsText(data, size)), "config.json");
    config.config->ToBlueprint();
  });
  return 0;
}
