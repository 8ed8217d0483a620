#ifndef MODELHUB_RUNTIME_TOKENIZERS_TOKENIZER_JSON_H_
#define MODELHUB_RUNTIME_TOKENIZERS_TOKENIZER_JSON_H_

// Reads Hugging Face's tokenizer.json into a PipelineSpec, once, checking every
// field: the BPE model (vocab, merges in either layout, byte_fallback,
// ignore_merges, unk_token), added tokens, normalizers (NFC/NFD/NFKC/NFKD,
// Prepend, Replace, Sequence), pre-tokenizers (Split, ByteLevel, Metaspace,
// Digits, Sequence), post-processors (TemplateProcessing, ByteLevel,
// Sequence) and decoders (ByteLevel, Metaspace, ByteFallback, Fuse, Strip,
// Replace, Sequence). Anything else (another model or step type, a key it does
// not know, truncation) is a TokenizerLoadError naming the JSON path, never a
// silent fallback.

#include <string>
#include <string_view>

#include "runtime/tokenizers/pipeline_spec.h"

namespace modelhub {

// Parses the tokenizer.json text `json`, read from `path` (for messages).
PipelineSpec ParseTokenizerJson(std::string_view json, const std::string& path);

// Reads and parses the tokenizer.json file at `path`.
PipelineSpec ReadTokenizerJson(const std::string& path);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_TOKENIZERS_TOKENIZER_JSON_H_
