// Fuzzes the spec compiler's parser: any YAML text as a family spec.

#include <cstdint>
#include <string>

#include "codegen/spec_error.h"
#include "codegen/spec_parser.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelhub;
  fuzz::ExpectOnly<codegen::SpecError>(
      [&] { codegen::ParseSpec(std::string(fuzz::AsText(data, size)), "fuzz.yaml"); });
  return 0;
}
