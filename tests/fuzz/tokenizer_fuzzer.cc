// Fuzzes the tokenizer file readers (tokenizer.json, tiktoken rank files,
// SentencePiece .model files) and, through a tokenizer read from the input,
// encoding and decoding: the first byte picks the reader, the rest is the file.
// What loads then encodes a fixed text and the file's own bytes (refused
// when they are not UTF-8), decodes every id it produced, and streams them.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/tokenizers/pipeline_tokenizer.h"
#include "runtime/tokenizers/sentencepiece_model.h"
#include "runtime/tokenizers/tiktoken_file.h"
#include "runtime/tokenizers/tokenizer_json.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

void Exercise(const modelhub::Tokenizer& tokenizer, std::string_view bytes) {
  using namespace modelhub;
  for (const std::string_view text :
       {std::string_view("Hello <s> world, 12345 \xC3\xA9\n"), bytes}) {
    fuzz::ExpectOnly([&] {
      for (const SpecialTokens special : {SpecialTokens::kOmit, SpecialTokens::kAdd}) {
        const std::vector<int64_t> ids = tokenizer.Encode(text, special);
        tokenizer.Decode(ids, SpecialTokenText::kKeep);
        tokenizer.Decode(ids, SpecialTokenText::kSkip);
        StreamingDecoder stream(tokenizer, SpecialTokenText::kKeep);
        for (const int64_t id : ids) stream.Step(id);
        stream.Finish();
      }
    });
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelhub;
  if (size == 0) return 0;
  const std::string_view file = fuzz::AsText(data + 1, size - 1);
  fuzz::ExpectOnly([&] {
    PipelineSpec spec;
    switch (data[0] % 3) {
      case 0:
        spec = ParseTokenizerJson(file, "tokenizer.json");
        break;
      case 1:
        spec = ParseTiktokenFile(file, "tokenizer.model");
        break;
      default:
        spec = ParseSentencePieceModel(file, "tokenizer.model");
        break;
    }
    const PipelineTokenizer tokenizer(std::move(spec));
    Exercise(tokenizer, file);
  });
  return 0;
}
