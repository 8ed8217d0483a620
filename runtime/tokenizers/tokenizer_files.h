#ifndef MODELHUB_RUNTIME_TOKENIZERS_TOKENIZER_FILES_H_
#define MODELHUB_RUNTIME_TOKENIZERS_TOKENIZER_FILES_H_

// Opens a tokenizer from its files, whatever their format: Hugging Face's
// tokenizer.json, Meta's tiktoken tokenizer.model (Llama 3) or a SentencePiece
// .model (Llama 2, Mistral), given as the file or as a folder holding one (a
// Hugging Face checkpoint folder brings its own).

#include <memory>
#include <string>

#include "runtime/tokenizers/tokenizer.h"

namespace modelhub {

// Opens the tokenizer at `path`: a tokenizer.json (by its content, whatever
// its name), a tokenizer.model (a tiktoken rank file or a SentencePiece model,
// told apart by their content), or a folder holding tokenizer.json (preferred)
// or tokenizer.model. Its special ids come from the tokenizer_config.json
// (bos_token, eos_token) and generation_config.json (eos_token_id, one or a
// list: every one stops generation) beside it, when there are; tiktoken files
// stop at <|end_of_text|> and <|eot_id|> as Meta's tokenizer does; SentencePiece
// models at their eos. Throws TokenizerLoadError naming the file and what is
// wrong, or, for a folder, the files it looked for.
std::shared_ptr<Tokenizer> OpenTokenizer(const std::string& path);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_TOKENIZERS_TOKENIZER_FILES_H_
