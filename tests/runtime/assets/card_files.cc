#include "tests/runtime/assets/card_files.h"

#include <stdlib.h>  // mkdtemp

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

namespace modelhub {
namespace testing {
namespace {

namespace fs = std::filesystem;

}  // namespace

CardDir::CardDir() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string pattern = std::string(tmp != nullptr ? tmp : "/tmp") + "/cards.XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed for " << pattern;
  root_ = buffer.data();
}

CardDir::~CardDir() {
  std::error_code error;
  fs::remove_all(root_, error);
}

std::string CardDir::Path(const std::string& relative) const {
  return relative.empty() ? root_ : root_ + "/" + relative;
}

std::string CardDir::Write(const std::string& relative, const std::string& text) const {
  const std::string path = Path(relative);
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
  return path;
}

void ExpectMentions(const std::string& message, const std::vector<std::string>& parts) {
  for (const std::string& part : parts) {
    EXPECT_NE(message.find(part), std::string::npos)
        << "message: " << message << "\nlacks: " << part;
  }
}

}  // namespace testing
}  // namespace modelhub
