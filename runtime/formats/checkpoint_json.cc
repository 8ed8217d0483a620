#include "runtime/formats/checkpoint_json.h"

#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"

namespace modelhub {

nlohmann::json ParseCheckpointJson(const std::string& text, const std::string& path) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("invalid JSON at byte ", e.byte, ": ", std::string(e.what())));
  } catch (const nlohmann::json::exception& e) {  // out_of_range: a number beyond a double
    throw CorruptModelCheckpointError(path, absl::StrCat("invalid JSON: ", std::string(e.what())));
  }
}

}  // namespace modelhub
