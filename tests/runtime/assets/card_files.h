#ifndef MODELHUB_TESTS_RUNTIME_ASSETS_CARD_FILES_H_
#define MODELHUB_TESTS_RUNTIME_ASSETS_CARD_FILES_H_

// Test helpers for asset cards: card files written into a fresh temporary
// directory; ErrorOf (tests/testing/error_of.h) for the message of the error a
// call throws.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/testing/error_of.h"

namespace modelhub {
namespace testing {

// A new, empty directory under $TEST_TMPDIR (or /tmp), removed on destruction.
class CardDir {
 public:
  CardDir();
  ~CardDir();
  CardDir(const CardDir&) = delete;
  CardDir& operator=(const CardDir&) = delete;

  // Writes `text` to `relative` (creating folders) and returns its full path.
  std::string Write(const std::string& relative, const std::string& text) const;
  // The full path of `relative` (which need not exist).
  std::string Path(const std::string& relative = "") const;

 private:
  std::string root_;
};

// Checks that `message` contains each of `parts`.
void ExpectMentions(const std::string& message, const std::vector<std::string>& parts);

}  // namespace testing
}  // namespace modelhub

#endif  // MODELHUB_TESTS_RUNTIME_ASSETS_CARD_FILES_H_
