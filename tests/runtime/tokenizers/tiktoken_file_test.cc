// Meta's Llama 3 tokenizer.model (a tiktoken rank file) read by
// ReadTiktokenFile and run by PipelineTokenizer: the ids and texts of the
// Hugging Face tokenizer.json for Llama 3 on the whole test corpus, frozen from
// the Rust `tokenizers` crate in tokenizer_oracle.json; then bad rank files.

#include "runtime/tokenizers/tiktoken_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"
#include "runtime/tokenizers/pipeline_tokenizer.h"
#include "tests/testing/error_of.h"

namespace modelhub {
namespace {

using ::modelhub::testing::ErrorOf;
using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr char kTestdata[] = "tests/runtime/tokenizers/testdata/";
constexpr char kRankFile[] = "tests/runtime/tokenizers/tiktoken_testdata/llama3/tokenizer.model";
constexpr int64_t kBaseVocabSize = 128000;

// `relative` (a path from the workspace root) in this test's runfiles.
std::string Runfile(const std::string& relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || workspace == nullptr) return relative;
  return absl::StrCat(srcdir, "/", workspace, "/", relative);
}

std::string ReadText(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  EXPECT_TRUE(file) << "cannot open " << path;
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

Json ReadJson(const std::string& relative) { return Json::parse(ReadText(Runfile(relative))); }

std::string TempPath(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/", name);
}

class TiktokenLlama3Test : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tokenizer_ = new PipelineTokenizer(ReadTiktokenFile(Runfile(kRankFile)));
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    tokenizer_ = nullptr;
  }
  static PipelineTokenizer* tokenizer_;
};

PipelineTokenizer* TiktokenLlama3Test::tokenizer_ = nullptr;

TEST_F(TiktokenLlama3Test, EncodesAndDecodesTheCorpusAsHuggingFaceDoes) {
  const Json corpus = ReadJson(absl::StrCat(kTestdata, "tokenizer_corpus.json"));
  const Json oracle =
      ReadJson(absl::StrCat(kTestdata, "tokenizer_oracle.json"))["layouts"]["llama3"];
  ASSERT_GT(corpus.size(), 50u);
  ASSERT_EQ(corpus.size(), oracle.size());
  for (size_t i = 0; i < corpus.size(); ++i) {
    const std::string text = corpus[i].get<std::string>();
    const Json& want = oracle[i];
    SCOPED_TRACE(absl::StrCat("corpus[", i, "] = ", corpus[i].dump()));
    const auto ids = want["ids"].get<std::vector<int64_t>>();
    const auto ids_special = want["ids_special"].get<std::vector<int64_t>>();
    EXPECT_EQ(tokenizer_->Encode(text, SpecialTokens::kOmit), ids);
    EXPECT_EQ(tokenizer_->Encode(text, SpecialTokens::kAdd), ids_special);
    EXPECT_EQ(tokenizer_->Decode(ids_special, SpecialTokenText::kKeep),
              want["decoded"].get<std::string>());
    EXPECT_EQ(tokenizer_->Decode(ids_special, SpecialTokenText::kSkip),
              want["decoded_skip"].get<std::string>());
  }
}

TEST_F(TiktokenLlama3Test, HasLlama3sSpecialTokensAsTheTokenizerJsonDoes) {
  const Json added =
      ReadJson(absl::StrCat(kTestdata, "tokenizers/llama3/tokenizer.json"))["added_tokens"];
  ASSERT_EQ(added.size(), 256u);
  const std::vector<std::string> specials = Llama3SpecialTokens();
  ASSERT_EQ(specials.size(), 256u);
  for (size_t i = 0; i < added.size(); ++i) {
    const std::string content = added[i]["content"].get<std::string>();
    const int64_t id = added[i]["id"].get<int64_t>();
    SCOPED_TRACE(content);
    EXPECT_EQ(id, kBaseVocabSize + static_cast<int64_t>(i));
    EXPECT_EQ(specials[i], content);
    EXPECT_EQ(tokenizer_->TokenToId(content), id);
    EXPECT_EQ(tokenizer_->IdToToken(id), content);
    EXPECT_TRUE(tokenizer_->IsSpecial(id));
    EXPECT_EQ(tokenizer_->Encode(content, SpecialTokens::kOmit), std::vector<int64_t>{id});
  }
  EXPECT_EQ(tokenizer_->vocab_size(), kBaseVocabSize + 256);
  EXPECT_EQ(tokenizer_->TokenToId("<|eot_id|>"), 128009);
  EXPECT_FALSE(tokenizer_->IsSpecial(0));
  EXPECT_FALSE(tokenizer_->IsSpecial(kBaseVocabSize - 1));
}

TEST_F(TiktokenLlama3Test, TokensAreTheirBytes) {
  // Rank 0 is "!", and " Hello" is one token: its bytes, not GPT-2 characters.
  EXPECT_EQ(tokenizer_->IdToToken(0), "!");
  const std::vector<int64_t> hello = tokenizer_->Encode(" Hello", SpecialTokens::kOmit);
  ASSERT_EQ(hello.size(), 1u);
  EXPECT_EQ(tokenizer_->IdToToken(hello[0]), " Hello");
  EXPECT_EQ(tokenizer_->TokenToId(" Hello"), hello[0]);
  EXPECT_THAT(ErrorOf<InvalidTokenizerInputError>([] {
                tokenizer_->Decode({1, 128256}, SpecialTokenText::kKeep);
              }),
              HasSubstr("token id 128256 at position 1"));
}

// The rank file line giving the single byte `byte` the rank `rank`.
std::string ByteLine(int byte, int rank) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  return absl::StrCat(std::string{kAlphabet[byte >> 2], kAlphabet[(byte & 3) << 4], '=', '='}, " ",
                      rank, "\n");
}

// A valid rank file: every byte ranked by its value (lines 1..256), then `extra`.
std::string ByteRanks(const std::string& extra = "") {
  std::string text;
  for (int byte = 0; byte < 256; ++byte) text += ByteLine(byte, byte);
  return text + extra;
}

TEST(TiktokenFileTest, ParsesASmallFileIntoLlama3sPipeline) {
  // "QUI=" is "AB", rank 256; blank lines and CRLF are allowed.
  const PipelineSpec spec = ParseTiktokenFile(ByteRanks("\nQUI= 256\r\n\n"), "small.model");
  EXPECT_EQ(spec.path, "small.model");
  EXPECT_EQ(spec.model.kind, ModelSpec::Kind::kTiktoken);
  EXPECT_EQ(spec.model.vocab.size(), 257u);
  ASSERT_EQ(spec.added_tokens.size(), 256u);
  EXPECT_EQ(spec.added_tokens[0].id, 257);
  EXPECT_EQ(spec.added_tokens[0].content, "<|begin_of_text|>");
  EXPECT_EQ(spec.added_tokens[9].content, "<|eot_id|>");
  EXPECT_EQ(spec.added_tokens[255].content, "<|reserved_special_token_250|>");
  EXPECT_TRUE(spec.added_tokens[0].special);
  ASSERT_EQ(spec.pre_tokenizers.size(), 1u);
  EXPECT_EQ(spec.pre_tokenizers[0].pattern.text, kLlama3Pattern);

  PipelineTokenizer tokenizer(ParseTiktokenFile(ByteRanks("QUI= 256\n"), "small.model"));
  EXPECT_EQ(tokenizer.Encode("ABA", SpecialTokens::kOmit), (std::vector<int64_t>{256, 'A'}));
  EXPECT_EQ(tokenizer.Encode("ABA", SpecialTokens::kAdd), (std::vector<int64_t>{257, 256, 'A'}));
  EXPECT_EQ(tokenizer.Encode("A<|eot_id|>B", SpecialTokens::kOmit),
            (std::vector<int64_t>{'A', 266, 'B'}));
  EXPECT_EQ(tokenizer.Decode({257, 256, 'A'}, SpecialTokenText::kKeep), "<|begin_of_text|>ABA");
  EXPECT_EQ(tokenizer.Decode({257, 256, 'A'}, SpecialTokenText::kSkip), "ABA");
}

// The TokenizerLoadError of parsing `text`.
TokenizerLoadError ParseError(const std::string& text) {
  try {
    ParseTiktokenFile(text, "bad.model");
  } catch (const TokenizerLoadError& e) {
    return e;
  }
  ADD_FAILURE() << "no TokenizerLoadError";
  return TokenizerLoadError("bad.model", "<none>", "nothing thrown");
}

TEST(TiktokenFileTest, NamesTheLineOfABadLine) {
  // Lines 1..256 are the bytes; the extra lines start at line 257.
  TokenizerLoadError error = ParseError(ByteRanks("QUI= 256\nQU*= 257\n"));
  EXPECT_EQ(error.where(), "line 258");
  EXPECT_THAT(error.what(), HasSubstr("bad.model at line 258"));
  EXPECT_THAT(error.what(), HasSubstr("'QU*=' is not base64"));

  error = ParseError(ByteRanks("QUI 256\n"));
  EXPECT_EQ(error.where(), "line 257");
  EXPECT_THAT(error.what(), HasSubstr("not a multiple of 4"));

  error = ParseError(ByteRanks("QUI= 25x\n"));
  EXPECT_EQ(error.where(), "line 257");
  EXPECT_THAT(error.what(), HasSubstr("the rank '25x' is not a decimal integer"));

  error = ParseError(ByteRanks("QUI= -1\n"));
  EXPECT_EQ(error.where(), "line 257");
  EXPECT_THAT(error.what(), HasSubstr("the rank '-1'"));

  error = ParseError(ByteRanks("QUI= 99999999999\n"));
  EXPECT_EQ(error.where(), "line 257");

  error = ParseError(ByteRanks("QUI=256\n"));
  EXPECT_EQ(error.where(), "line 257");
  EXPECT_THAT(error.what(), HasSubstr("expected '<base64 token> <rank>'"));

  error = ParseError(ByteRanks("QUI= 256 7\n"));
  EXPECT_EQ(error.where(), "line 257");

  error = ParseError(ByteRanks(" 256\n"));
  EXPECT_EQ(error.where(), "line 257");
  EXPECT_THAT(error.what(), HasSubstr("the token is empty"));

  // Blank lines count: the bad line is the 259th.
  error = ParseError(ByteRanks("\n\nQUI= x\n"));
  EXPECT_EQ(error.where(), "line 259");
}

TEST(TiktokenFileTest, RefusesDuplicatesGapsAndMissingBytes) {
  TokenizerLoadError error = ParseError(ByteRanks("QUI= 256\nQUI= 257\n"));
  EXPECT_EQ(error.where(), "line 258");
  EXPECT_THAT(error.what(), HasSubstr("token 'QUI=' is given twice (first on line 257)"));

  error = ParseError(ByteRanks("QUI= 65\n"));
  EXPECT_EQ(error.where(), "line 257");
  EXPECT_THAT(error.what(), HasSubstr("rank 65 is given twice (first on line 66)"));

  error = ParseError(ByteRanks("QUI= 300\n"));
  EXPECT_EQ(error.where(), "line 257");
  EXPECT_THAT(error.what(), HasSubstr("rank 300 leaves a gap"));

  // Ranks 0..255 without a gap, but byte "A" (0x41) has none.
  std::string without_a;
  for (int byte = 0, rank = 0; byte < 256; ++byte) {
    if (byte != 'A') without_a += ByteLine(byte, rank++);
  }
  error = ParseError(without_a + "QUI= 255\n");
  EXPECT_EQ(error.where(), "");
  EXPECT_THAT(error.what(), HasSubstr("byte 0x41 has no rank"));

  error = ParseError("");
  EXPECT_THAT(error.what(), HasSubstr("byte 0x00 has no rank"));
}

TEST(TiktokenFileTest, RefusesFilesItCannotRead) {
  EXPECT_THAT(ErrorOf<TokenizerLoadError>([] { ReadTiktokenFile(TempPath("missing.model")); }),
              HasSubstr("cannot open the file"));
  const std::string directory = TempPath("a_directory.model");
  std::filesystem::create_directories(directory);
  EXPECT_THAT(ErrorOf<TokenizerLoadError>([&] { ReadTiktokenFile(directory); }),
              HasSubstr("is a directory"));
  // A SentencePiece model is not a rank file: binary garbage on line 1.
  const std::string garbage = TempPath("garbage.model");
  std::ofstream(garbage, std::ios::binary) << std::string("\x08\x96\x01 \x00\xff\n", 7);
  EXPECT_THAT(ErrorOf<TokenizerLoadError>([&] { ReadTiktokenFile(garbage); }),
              HasSubstr("garbage.model at line 1"));
}

}  // namespace
}  // namespace modelhub
