#ifndef MODELHUB_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define MODELHUB_TESTS_FUZZ_FUZZ_SUPPORT_H_

// What every fuzz target shares: a scratch file for readers that take a path,
// and the rule that bad input may only end in a modelhub error.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "runtime/core/errors.h"

namespace modelhub::fuzz {

// The fuzz input as text.
inline std::string_view AsText(const uint8_t* data, size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// Writes `bytes` to `name` inside a folder private to this process (created
// on first use under $TEST_TMPDIR, else $TMPDIR, else /tmp) and returns the
// file's path. Aborts when the file cannot be written: that is the harness's
// failure, not the input's.
std::string WriteScratchFile(const std::string& name, std::string_view bytes);

// Runs `call`. An `E` (by default modelhub::Error, the typed errors every bad
// input must end in) is the expected way to refuse; anything else escapes and
// ends the process, which libFuzzer (or replay_main) reports as a finding.
template <typename E = Error, typename Function>
void ExpectOnly(Function&& call) {
  try {
    call();
  } catch (const E&) {
  }
}

}  // namespace modelhub::fuzz

#endif  // MODELHUB_TESTS_FUZZ_FUZZ_SUPPORT_H_
