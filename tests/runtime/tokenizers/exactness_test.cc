// Every tokenizer layout of testdata/ gives, for every corpus string, exactly
// the ids and texts of Hugging Face's `tokenizers` crate: encode with and
// without special tokens, decode with and without skipping them; and the
// streaming decoder's pieces add up to the same text.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "runtime/tokenizers/pipeline_tokenizer.h"
#include "runtime/tokenizers/tokenizer_json.h"
#include "runtime/tokenizers/utf8.h"
#include "tests/runtime/tokenizers/oracle.h"

namespace modelhub {
namespace {

using testing::OracleCorpus;
using testing::OracleRecords;

class ExactnessTest : public ::testing::TestWithParam<std::string> {
 protected:
  static const PipelineTokenizer& TokenizerOf(const std::string& layout) {
    static auto* cache = new std::map<std::string, std::unique_ptr<PipelineTokenizer>>();
    auto& slot = (*cache)[layout];
    if (!slot) {
      slot = std::make_unique<PipelineTokenizer>(
          ReadTokenizerJson(testing::OracleTokenizerJson(layout)));
    }
    return *slot;
  }
};

TEST_P(ExactnessTest, EncodesAsTheReference) {
  const PipelineTokenizer& tokenizer = TokenizerOf(GetParam());
  const auto& corpus = OracleCorpus();
  const auto& records = OracleRecords(GetParam());
  ASSERT_EQ(records.size(), corpus.size());
  for (size_t i = 0; i < corpus.size(); ++i) {
    EXPECT_EQ(tokenizer.Encode(corpus[i], SpecialTokens::kOmit), records[i].ids)
        << "corpus[" << i << "]";
    EXPECT_EQ(tokenizer.Encode(corpus[i], SpecialTokens::kAdd), records[i].ids_special)
        << "corpus[" << i << "]";
  }
}

TEST_P(ExactnessTest, DecodesAsTheReference) {
  const PipelineTokenizer& tokenizer = TokenizerOf(GetParam());
  const auto& records = OracleRecords(GetParam());
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(tokenizer.Decode(records[i].ids_special, SpecialTokenText::kKeep), records[i].decoded)
        << "corpus[" << i << "]";
    EXPECT_EQ(tokenizer.Decode(records[i].ids_special, SpecialTokenText::kSkip),
              records[i].decoded_skip)
        << "corpus[" << i << "]";
  }
}

TEST_P(ExactnessTest, StreamsTheDecodedText) {
  const PipelineTokenizer& tokenizer = TokenizerOf(GetParam());
  const auto& records = OracleRecords(GetParam());
  for (size_t i = 0; i < records.size(); ++i) {
    for (const SpecialTokenText special : {SpecialTokenText::kKeep, SpecialTokenText::kSkip}) {
      const std::string& expected =
          special == SpecialTokenText::kSkip ? records[i].decoded_skip : records[i].decoded;
      const bool has_replacement = expected.find(kReplacementCharacter) != std::string::npos;
      StreamingDecoder stream(tokenizer, special);
      std::string text;
      for (const int64_t id : records[i].ids_special) {
        const std::string piece = stream.Step(id);
        // A character split across tokens never comes out as U+FFFD.
        if (!has_replacement) {
          EXPECT_EQ(piece.find(kReplacementCharacter), std::string::npos) << "corpus[" << i << "]";
        }
        text += piece;
      }
      text += stream.Finish();
      EXPECT_EQ(text, expected) << "corpus[" << i
                                << "] skip=" << (special == SpecialTokenText::kSkip);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, ExactnessTest, ::testing::ValuesIn(testing::OracleLayouts()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace modelhub
