#include "tools/cli/tokenizer_source.h"

#include <filesystem>

#include "runtime/assets/asset_card.h"
#include "runtime/hub/checkpoint_fetch.h"
#include "runtime/hub/tokenizer_hub.h"
#include "runtime/tokenizers/tokenizer_files.h"
#include "tools/cli/usage_error.h"

namespace modelhub::cli {
namespace fs = std::filesystem;

std::shared_ptr<Tokenizer> OpenSourceTokenizer(const TokenizerSource& source) {
  const int given = !source.name.empty() + !source.checkpoint.empty() + !source.tokenizer.empty();
  if (given == 0) {
    throw UsageError("name a model card (or hg://org/name), or give --checkpoint or --tokenizer");
  }
  if (!source.tokenizer.empty()) return OpenTokenizer(source.tokenizer);
  if (!source.checkpoint.empty()) {
    std::error_code error;
    const fs::path folder = fs::is_directory(source.checkpoint, error)
                                ? fs::path(source.checkpoint)
                                : fs::path(source.checkpoint).parent_path();
    return OpenTokenizer(folder.empty() ? "." : folder.string());
  }
  if (IsRemoteUri(source.name)) {
    return OpenTokenizer(FetchTokenizer(source.name, std::nullopt, FetchOptions{}).path);
  }
  return load_tokenizer(source.name);
}

}  // namespace modelhub::cli
