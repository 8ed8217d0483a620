#ifndef MODELHUB_TOOLS_CLI_TEXT_COMMANDS_H_
#define MODELHUB_TOOLS_CLI_TEXT_COMMANDS_H_

// `modelhub tokenize` and `modelhub detokenize`.

#include <iostream>
#include <memory>
#include <string>

#include "runtime/tokenizers/tokenizer.h"
#include "tools/cli/tokenizer_source.h"

namespace modelhub::cli {

// How `tokenize` prints.
struct TokenizeOptions {
  bool pieces = false;   // one line per token: id, then its piece as a JSON string
  bool special = false;  // the post-processor's special tokens (BOS) too
  bool jsonl = false;    // each input line a JSON string, each output line a JSON array
};

// `modelhub tokenize`: prints the ids of `text` ("1,2,3"), or of each line of
// `in` with jsonl (an input line that is not a JSON string is an Error naming
// its line number).
void RunTokenize(const Tokenizer& tokenizer, const std::string& text,
                 const TokenizeOptions& options, std::istream& in, std::ostream& out);

// `modelhub detokenize`: prints the text of `ids` ("1,2,3"), or with jsonl
// the JSON string of each JSON array of ids on the lines of `in`.
void RunDetokenize(const Tokenizer& tokenizer, const std::string& ids, bool skip_special,
                   bool jsonl, std::istream& in, std::ostream& out);

}  // namespace modelhub::cli

#endif  // MODELHUB_TOOLS_CLI_TEXT_COMMANDS_H_
