#ifndef MODELHUB_TOOLS_CLI_TOKENIZER_SOURCE_H_
#define MODELHUB_TOOLS_CLI_TOKENIZER_SOURCE_H_

// The tokenizer a command uses: tokenize and detokenize, and the model
// commands given --prompt.

#include <memory>
#include <string>

#include "runtime/tokenizers/tokenizer.h"

namespace modelhub::cli {

// Which tokenizer to use: a card name (or hg://org/name[@rev], or a URL), a
// checkpoint folder that holds one, or a tokenizer file or folder.
struct TokenizerSource {
  std::string name;
  std::string checkpoint;
  std::string tokenizer;
};

// Opens the tokenizer `source` names: --tokenizer first, then the checkpoint
// (its folder, or the folder of a checkpoint file), then the card's (see
// LoadTokenizerFromCard) or the remote repo's (FetchTokenizer). UsageError
// when it names none or more than one way.
std::shared_ptr<Tokenizer> OpenSourceTokenizer(const TokenizerSource& source);

}  // namespace modelhub::cli

#endif  // MODELHUB_TOOLS_CLI_TOKENIZER_SOURCE_H_
