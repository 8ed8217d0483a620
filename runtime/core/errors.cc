#include "runtime/core/errors.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace modelhub {
namespace {

std::string KnownSuffix(const std::vector<std::string>& known, const char* what) {
  if (known.empty()) return "";
  return absl::StrCat(" (", what, ": ", absl::StrJoin(known, ", "), ")");
}

// LibTorch messages carry a C++ backtrace after the first line; keep one line.
std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace

ModelFamilyNotKnownError::ModelFamilyNotKnownError(std::string name,
                                                   const std::vector<std::string>& known)
    : Error(absl::StrCat("model family '", name, "' is not known",
                         KnownSuffix(known, "families linked into this program"),
                         "; a program links a family by depending on its Bazel target, "
                         "@modelhub//families/<name>, or on @modelhub//families:all")),
      name_(std::move(name)) {}

ModelArchitectureNotKnownError::ModelArchitectureNotKnownError(
    std::string arch, std::string family, const std::vector<std::string>& known)
    : Error(absl::StrCat("'", arch, "' is not a known architecture of the '", family,
                         "' model family", KnownSuffix(known, "did you mean"))),
      arch_(std::move(arch)),
      family_(std::move(family)) {}

ModelNotKnownError::ModelNotKnownError(std::string name, const std::string& hint)
    : Error(absl::StrCat("no model is named '", name, "' (see 'modelhub list')",
                         hint.empty() ? "" : "; ", hint)),
      name_(std::move(name)) {}

ModelGatedError::ModelGatedError(std::string name, std::string url)
    : Error(absl::StrCat("model '", name, "' is gated: its card names no checkpoint",
                         url.empty() ? "" : absl::StrCat("; request access at ", url))),
      name_(std::move(name)),
      url_(std::move(url)) {}

AssetCardError::AssetCardError(std::string name, const std::string& message)
    : Error(absl::StrCat("asset card '", name, "': ", message)),
      name_(std::move(name)),
      reason_(message) {}

AssetNotFoundError::AssetNotFoundError(std::string name)
    : Error(absl::StrCat("asset '", name, "' is not found")), name_(std::move(name)) {}

AssetDownloadError::AssetDownloadError(std::string uri, const std::string& why)
    : Error(absl::StrCat("cannot download ", uri, ": ", why)), uri_(std::move(uri)) {}

CardRepositoryError::CardRepositoryError(std::string repo, const std::string& message)
    : Error(absl::StrCat("card repository ", repo, ": ", message)), repo_(std::move(repo)) {}

CorruptModelCheckpointError::CorruptModelCheckpointError(std::string path, std::string message)
    : Error(absl::StrCat(path, ": corrupt model checkpoint: ", message)),
      path_(std::move(path)),
      reason_(std::move(message)) {}

CheckpointSaveError::CheckpointSaveError(std::string path, const std::string& message)
    : Error(absl::StrCat("cannot save a checkpoint to ", path, ": ", message)),
      path_(std::move(path)) {}

ConfigError::ConfigError(std::string config, std::string field, SourceMark mark, std::string reason)
    : Error(absl::StrCat(mark.known() ? mark.ToString() + ": " : "", config,
                         field.empty() ? "" : absl::StrCat(" field '", field, "'"), ": ", reason)),
      config_(std::move(config)),
      field_(std::move(field)),
      mark_(std::move(mark)),
      reason_(std::move(reason)) {}

TorchError::TorchError(const std::string& context, const std::string& torch_message)
    : Error(absl::StrCat(context, ": ", FirstLine(torch_message))) {}

TokenizerLoadError::TokenizerLoadError(std::string path, std::string where,
                                       const std::string& reason)
    : Error(absl::StrCat("cannot load tokenizer ", path, where.empty() ? "" : " at ", where, ": ",
                         reason)),
      path_(std::move(path)),
      where_(std::move(where)) {}

TokenizerNotKnownError::TokenizerNotKnownError(std::string name, const std::string& hint)
    : Error(absl::StrCat("no tokenizer is named '", name, "' (see 'modelhub list')",
                         hint.empty() ? "" : "; ", hint)),
      name_(std::move(name)) {}

TokenizerGatedError::TokenizerGatedError(std::string name, std::string url)
    : Error(absl::StrCat("the tokenizer of '", name,
                         "' is gated: its card names no tokenizer (no 'tokenizer' field)",
                         url.empty() ? "" : absl::StrCat("; request access at ", url))),
      name_(std::move(name)),
      url_(std::move(url)) {}

TokenizerFamilyNotKnownError::TokenizerFamilyNotKnownError(std::string name,
                                                           const std::vector<std::string>& known)
    : Error(absl::StrCat("tokenizer family '", name, "' is not known",
                         KnownSuffix(known, "known families"))),
      name_(std::move(name)) {}

}  // namespace modelhub
