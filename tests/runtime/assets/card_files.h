#ifndef MODELHUB_TESTS_RUNTIME_ASSETS_CARD_FILES_H_
#define MODELHUB_TESTS_RUNTIME_ASSETS_CARD_FILES_H_

// Test helpers for asset cards: card files written into a fresh temporary
// directory, and the message of the error a call throws.

#include <gtest/gtest.h>

#include <string>
#include <vector>

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

// The what() of the `E` that `call` throws; a test failure (and "") when it
// throws nothing or something else.
template <typename E, typename Function>
std::string ErrorOf(Function call) {
  try {
    call();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "no exception";
  return "";
}

// Checks that `message` contains each of `parts`.
void ExpectMentions(const std::string& message, const std::vector<std::string>& parts);

}  // namespace testing
}  // namespace modelhub

#endif  // MODELHUB_TESTS_RUNTIME_ASSETS_CARD_FILES_H_
