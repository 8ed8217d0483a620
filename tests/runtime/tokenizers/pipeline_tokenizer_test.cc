// PipelineTokenizer on small hand-written tokenizer.json files: added-token
// options, bad input, and every way a tokenizer.json can be refused.

#include "runtime/tokenizers/pipeline_tokenizer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "runtime/core/errors.h"
#include "runtime/tokenizers/tokenizer_json.h"
#include "tests/testing/error_of.h"

namespace modelhub {
namespace {

using ::modelhub::testing::ErrorOf;
using Json = nlohmann::json;

// A byte-level BPE over "a", "b", " " (Ġ) with merges a+b and Ġ+ab, the
// post-processor adding <bos>, and a decoder back to bytes.
Json ByteLevelTokenizer() {
  return Json::parse(R"({
    "version": "1.0", "truncation": null, "padding": null,
    "added_tokens": [
      {"id": 6, "content": "<bos>", "single_word": false, "lstrip": false, "rstrip": false,
       "normalized": false, "special": true},
      {"id": 7, "content": "<sep>", "single_word": false, "lstrip": true, "rstrip": true,
       "normalized": false, "special": true},
      {"id": 8, "content": "ab", "single_word": true, "lstrip": false, "rstrip": false,
       "normalized": false, "special": false}
    ],
    "normalizer": null,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true,
                      "use_regex": true},
    "post_processor": {"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<bos>", "type_id": 0}},
                 {"Sequence": {"id": "A", "type_id": 0}}],
      "pair": [],
      "special_tokens": {"<bos>": {"id": "<bos>", "ids": [6], "tokens": ["<bos>"]}}},
    "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true,
                "use_regex": true},
    "model": {"type": "BPE", "dropout": null, "unk_token": null,
              "continuing_subword_prefix": null, "end_of_word_suffix": null,
              "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
              "vocab": {"a": 0, "b": 1, "Ġ": 2, "ab": 3, "Ġab": 4, "\u00c3": 5, "\u00a9": 9},
              "merges": ["a b", ["Ġ", "ab"]]}
  })");
}

PipelineTokenizer Make(const Json& json) {
  return PipelineTokenizer(ParseTokenizerJson(json.dump(), "test/tokenizer.json"));
}

std::string LoadError(const Json& json) {
  return ErrorOf<TokenizerLoadError>([&] { Make(json); });
}

TEST(PipelineTokenizerTest, MergesAndAddsTheTemplate) {
  const PipelineTokenizer tokenizer = Make(ByteLevelTokenizer());
  // "ab" between spaces is the single_word added token 8.
  EXPECT_EQ(tokenizer.Encode("ab ab", SpecialTokens::kOmit), (std::vector<int64_t>{8, 2, 8}));
  EXPECT_EQ(tokenizer.Encode(" aab", SpecialTokens::kOmit), (std::vector<int64_t>{2, 0, 3}));
  EXPECT_EQ(tokenizer.Encode("ba", SpecialTokens::kAdd), (std::vector<int64_t>{6, 1, 0}));
  EXPECT_EQ(tokenizer.Decode({6, 3, 4}, SpecialTokenText::kKeep), "<bos>ab ab");
  EXPECT_EQ(tokenizer.Decode({6, 3, 4}, SpecialTokenText::kSkip), "ab ab");
  EXPECT_EQ(tokenizer.vocab_size(), 10);
  EXPECT_TRUE(tokenizer.IsSpecial(6));
  EXPECT_FALSE(tokenizer.IsSpecial(8));
  EXPECT_EQ(tokenizer.IdToToken(4), "Ġab");
  EXPECT_EQ(tokenizer.TokenToId("<sep>"), 7);
}

TEST(PipelineTokenizerTest, AddedTokenOptions) {
  const PipelineTokenizer tokenizer = Make(ByteLevelTokenizer());
  // lstrip and rstrip take the spaces around <sep>.
  EXPECT_EQ(tokenizer.Encode("a  <sep>  b", SpecialTokens::kOmit), (std::vector<int64_t>{0, 7, 1}));
  // single_word: "ab" inside a word is not the added token.
  EXPECT_EQ(tokenizer.Encode("aab", SpecialTokens::kOmit), (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(tokenizer.Encode("ab", SpecialTokens::kOmit), (std::vector<int64_t>{8}));
}

TEST(PipelineTokenizerTest, RefusesTextThatIsNotUtf8) {
  const PipelineTokenizer tokenizer = Make(ByteLevelTokenizer());
  EXPECT_EQ(ErrorOf<InvalidTokenizerInputError>(
                [&] { tokenizer.Encode("ab\xFF", SpecialTokens::kOmit); }),
            "text to tokenize is not UTF-8: byte 2 (0xff) is not valid there");
}

TEST(PipelineTokenizerTest, RefusesIdsOutsideTheVocabulary) {
  const PipelineTokenizer tokenizer = Make(ByteLevelTokenizer());
  EXPECT_EQ(ErrorOf<InvalidTokenizerInputError>([&] {
              tokenizer.Decode({0, 10}, SpecialTokenText::kKeep);
            }),
            "token id 10 at position 1 is not in the vocabulary of test/tokenizer.json (10 ids)");
  EXPECT_EQ(
      ErrorOf<InvalidTokenizerInputError>([&] { tokenizer.Decode({-1}, SpecialTokenText::kKeep); }),
      "token id -1 at position 0 is not in the vocabulary of test/tokenizer.json (10 ids)");
}

TEST(PipelineTokenizerTest, StreamsACharacterSplitAcrossTokens) {
  const PipelineTokenizer tokenizer = Make(ByteLevelTokenizer());
  // "é" is the bytes C3 A9: tokens 5 ("Ã" stands for C3) and 9 ("©" for A9).
  StreamingDecoder stream(tokenizer, SpecialTokenText::kKeep);
  EXPECT_EQ(stream.Step(0), "a");
  EXPECT_EQ(stream.Step(5), "");
  EXPECT_EQ(stream.Step(9), "\xC3\xA9");
  EXPECT_EQ(stream.Step(5), "");
  EXPECT_EQ(stream.Finish(), "\xEF\xBF\xBD");  // an incomplete character at the end
}

TEST(PipelineTokenizerTest, NamesTheJsonPathOfWhatItRefuses) {
  Json json = ByteLevelTokenizer();
  json["normalizer"] =
      Json::parse(R"({"type": "Sequence", "normalizers": [{"type": "Lowercase"}]})");
  EXPECT_EQ(LoadError(json),
            "cannot load tokenizer test/tokenizer.json at normalizer.normalizers[0].type: "
            "'Lowercase' is not supported (supported: NFC, NFD, NFKC, NFKD, Prepend, Replace, "
            "Sequence)");

  json = ByteLevelTokenizer();
  json["pre_tokenizer"]["surprise"] = true;
  EXPECT_NE(LoadError(json).find("at pre_tokenizer.surprise: unknown key"), std::string::npos);

  json = ByteLevelTokenizer();
  json["model"]["type"] = "WordPiece";
  EXPECT_NE(LoadError(json).find("at model.type: 'WordPiece' is not supported"), std::string::npos);

  json = ByteLevelTokenizer();
  json["model"]["merges"][1] = "Ġ zz";
  EXPECT_EQ(LoadError(json),
            "cannot load tokenizer test/tokenizer.json at model.merges[1]: 'zz' is not in "
            "model.vocab");

  json = ByteLevelTokenizer();
  json["model"]["merges"][0] = "a  b";
  EXPECT_NE(LoadError(json).find("at model.merges[0]: \"a  b\" is not two tokens"),
            std::string::npos);

  json = ByteLevelTokenizer();
  json["model"]["vocab"]["a"] = "zero";
  EXPECT_EQ(LoadError(json),
            "cannot load tokenizer test/tokenizer.json at model.vocab.a: expected an integer id");

  json = ByteLevelTokenizer();
  json["pre_tokenizer"] = Json::parse(
      R"({"type": "Split", "pattern": {"Regex": "(?<!"}, "behavior": "Isolated", "invert": false})");
  EXPECT_NE(LoadError(json).find("at pre_tokenizer.pattern: "), std::string::npos);

  json = ByteLevelTokenizer();
  json["truncation"] = Json::parse(R"({"max_length": 8})");
  EXPECT_NE(LoadError(json).find("at truncation: truncation is not supported"), std::string::npos);

  json = ByteLevelTokenizer();
  json["post_processor"]["single"][0]["SpecialToken"]["id"] = "<cls>";
  EXPECT_NE(LoadError(json).find("'<cls>' is not in post_processor.special_tokens"),
            std::string::npos);

  EXPECT_NE(ErrorOf<TokenizerLoadError>([] {
              ParseTokenizerJson("{\"model\": {\"vocab\": {}, ", "broken.json");
            }).find("cannot load tokenizer broken.json at byte "),
            std::string::npos);
  EXPECT_EQ(ErrorOf<TokenizerLoadError>([] { ReadTokenizerJson("/nonexistent/tokenizer.json"); }),
            "cannot load tokenizer /nonexistent/tokenizer.json: cannot open the file");
}

}  // namespace
}  // namespace modelhub
