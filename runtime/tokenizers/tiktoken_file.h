#ifndef MODELHUB_RUNTIME_TOKENIZERS_TIKTOKEN_FILE_H_
#define MODELHUB_RUNTIME_TOKENIZERS_TIKTOKEN_FILE_H_

// Reads a tiktoken rank file, the `tokenizer.model` of Meta's Llama 3
// checkpoints, into a PipelineSpec that gives the ids of Meta's tokenizer.py and
// of Hugging Face's tokenizer.json for Llama 3.
//
// The file is one token a line: `<base64 of the token's bytes> <rank>`. The ranks
// are the token ids and must be 0..N-1, each once (N tokens); every single byte
// must have one (so any text can be tokenized). Empty lines are skipped, as
// tiktoken does. The file holds no special tokens and no pre-tokenizer regex:
// those are Llama 3's, fixed in its tokenizer.py, and come from here:
//   - pre-tokenizer: one Split (Isolated) with Llama 3's regex (kLlama3Pattern);
//   - model: ModelSpec::Kind::kTiktoken, vocab = the tokens' bytes -> rank;
//   - added tokens: Llama 3's 256 special tokens, ids N..N+255
//     (<|begin_of_text|>, <|end_of_text|>, <|reserved_special_token_0|> ..
//     _3|>, <|start_header_id|>, <|end_header_id|>,
//     <|reserved_special_token_4|>, <|eot_id|>, <|reserved_special_token_5|> ..
//     _250|>), special, matched literally in the text as Hugging Face does;
//   - template: <|begin_of_text|> then the sequence;
//   - decoder: the tokens' bytes, concatenated, as UTF-8 (kBytes).
// Llama 3.1 and later name some reserved tokens differently (<|eom_id|>,
// <|python_tag|>, ...); their tokenizer.json files say so and are the ones to
// load for them.

#include <string>
#include <string_view>
#include <vector>

#include "runtime/tokenizers/pipeline_spec.h"

namespace modelhub {

// Llama 3's pre-tokenizer regex (tokenizer.py's pat_str).
inline constexpr std::string_view kLlama3Pattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

// Llama 3's special tokens in id order: the token of id N + i is element i.
std::vector<std::string> Llama3SpecialTokens();

// Parses the rank file text `text`, read from `path` (for messages). Throws
// TokenizerLoadError naming the line ("line 12") of a line that is not
// `<base64> <rank>`, bad base64, an empty token, a rank that is not a decimal
// integer in range, a token or rank given twice (with the earlier line), a rank
// that leaves a gap in 0..N-1, or (naming no line) a single byte without a rank.
PipelineSpec ParseTiktokenFile(std::string_view text, const std::string& path);

// Reads and parses the rank file at `path`. Throws TokenizerLoadError as
// ParseTiktokenFile does, or when the file cannot be read.
PipelineSpec ReadTiktokenFile(const std::string& path);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_TOKENIZERS_TIKTOKEN_FILE_H_
