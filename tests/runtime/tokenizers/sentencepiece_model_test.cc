// ReadSentencePieceModel over a SentencePiece BPE model made from Mistral
// v0.1's tokenizer.json (sentencepiece_testdata/make_sentencepiece_model.py),
// run by PipelineTokenizer: the ids and texts of Hugging Face's tokenizer for
// Mistral on the whole test corpus (frozen from the Rust `tokenizers` crate in
// tokenizer_oracle.json), and the converted pipeline equal to Mistral's
// tokenizer.json, merges included; then small hand-written models (merge
// order, layouts) and files that are not models.

#include "runtime/tokenizers/sentencepiece_model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "runtime/core/errors.h"
#include "runtime/tokenizers/pipeline_tokenizer.h"
#include "runtime/tokenizers/tokenizer_files.h"
#include "runtime/tokenizers/tokenizer_json.h"
#include "tests/runtime/tokenizers/oracle.h"
#include "tests/testing/error_of.h"

namespace modelhub {
namespace {

using ::modelhub::testing::ErrorOf;
using ::modelhub::testing::OracleCorpus;
using ::modelhub::testing::OracleRecord;
using ::modelhub::testing::OracleRecords;
using ::modelhub::testing::OracleTokenizerJson;
using ::testing::HasSubstr;

constexpr char kModel[] = "tests/runtime/tokenizers/sentencepiece_testdata/mistral/tokenizer.model";
constexpr char kSpace[] = "\u2581";

// `relative` (a path from the workspace root) in this test's runfiles.
std::string Runfile(const std::string& relative) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || workspace == nullptr) return relative;
  return std::string(srcdir) + "/" + workspace + "/" + relative;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  EXPECT_TRUE(file) << "cannot open " << path;
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string TempFile(const std::string& name, const std::string& content) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(tmp != nullptr ? tmp : "/tmp") + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// The protobuf wire format, enough to write SentencePiece models by hand.
std::string Varint(uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out;
}
std::string Key(int field, int wire_type) {
  return Varint(static_cast<uint64_t>(field) << 3 | static_cast<uint64_t>(wire_type));
}
std::string IntField(int field, int64_t value) {
  return Key(field, 0) + Varint(static_cast<uint64_t>(value));
}
std::string BytesField(int field, const std::string& bytes) {
  return Key(field, 2) + Varint(bytes.size()) + bytes;
}
std::string FloatField(int field, float value) {
  char bytes[4];
  std::memcpy(bytes, &value, 4);  // little-endian, as protobuf's fixed32
  return Key(field, 5) + std::string(bytes, 4);
}

enum Type { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

std::string PieceField(const std::string& piece, float score, int type) {
  return BytesField(1, BytesField(1, piece) + FloatField(2, score) + IntField(3, type));
}

// trainer_spec: BPE, as Llama's and Mistral's models have it (without byte
// fallback unless `byte_fallback`).
std::string BpeTrainerSpec(bool byte_fallback = false) {
  return BytesField(2, IntField(3, 2) + IntField(4, 8000) + IntField(35, byte_fallback ? 1 : 0) +
                           IntField(40, 0) + IntField(41, 1) + IntField(42, 2) + IntField(43, -1));
}

// normalizer_spec: identity, as Llama's and Mistral's models have it.
std::string IdentityNormalizerSpec(bool add_dummy_prefix = true) {
  return BytesField(3, BytesField(1, "identity") + IntField(3, add_dummy_prefix ? 1 : 0) +
                           IntField(4, 0) + IntField(5, 1));
}

std::string SpecialPieces() {
  return PieceField("<unk>", 0, kUnknown) + PieceField("<s>", 0, kControl) +
         PieceField("</s>", 0, kControl);
}

// A merge as "left right", for messages.
std::string MergeText(const PipelineSpec& spec, const BpeMerge& merge) {
  std::vector<std::string> tokens(spec.model.vocab.size());
  for (const auto& [token, id] : spec.model.vocab) tokens[id] = token;
  return tokens[merge.left] + " " + tokens[merge.right] + " -> " + tokens[merge.result];
}

std::vector<std::string> MergeTexts(const PipelineSpec& spec) {
  std::vector<std::string> texts;
  for (const BpeMerge& merge : spec.model.merges) texts.push_back(MergeText(spec, merge));
  return texts;
}

class SentencePieceMistralTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    spec_ = new PipelineSpec(ReadSentencePieceModel(Runfile(kModel), &special_ids_));
    tokenizer_ = new PipelineTokenizer(*spec_);
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    delete spec_;
  }
  static PipelineSpec* spec_;
  static SentencePieceSpecialIds special_ids_;
  static PipelineTokenizer* tokenizer_;
};

PipelineSpec* SentencePieceMistralTest::spec_ = nullptr;
SentencePieceSpecialIds SentencePieceMistralTest::special_ids_;
PipelineTokenizer* SentencePieceMistralTest::tokenizer_ = nullptr;

// Every corpus string, special-token text and <unk> included: the ids and
// decodings of Hugging Face's Mistral tokenizer, exactly. No string is excused.
TEST_F(SentencePieceMistralTest, TokenizesTheWholeCorpusAsHuggingFace) {
  const std::vector<std::string>& corpus = OracleCorpus();
  const std::vector<OracleRecord>& records = OracleRecords("mistral");
  ASSERT_EQ(corpus.size(), 92u);
  ASSERT_EQ(records.size(), corpus.size());
  for (size_t i = 0; i < corpus.size(); ++i) {
    SCOPED_TRACE("corpus[" + std::to_string(i) + "] = \"" + corpus[i] + "\"");
    const OracleRecord& want = records[i];
    EXPECT_EQ(tokenizer_->Encode(corpus[i], SpecialTokens::kOmit), want.ids);
    EXPECT_EQ(tokenizer_->Encode(corpus[i], SpecialTokens::kAdd), want.ids_special);
    EXPECT_EQ(tokenizer_->Decode(want.ids_special, SpecialTokenText::kKeep), want.decoded);
    EXPECT_EQ(tokenizer_->Decode(want.ids_special, SpecialTokenText::kSkip), want.decoded_skip);
  }
}

// The converter against transformers' own conversion of Mistral's model: the
// pipeline read from the .model equals the one read from Mistral's
// tokenizer.json, the 58980 merges in the same order.
TEST_F(SentencePieceMistralTest, ConvertsAsMistralsTokenizerJson) {
  const PipelineSpec json = ReadTokenizerJson(OracleTokenizerJson("mistral"));
  const PipelineSpec& spec = *spec_;

  ASSERT_EQ(json.model.merges.size(), 58980u);
  ASSERT_EQ(spec.model.merges.size(), json.model.merges.size());
  size_t differences = 0;
  for (size_t i = 0; i < json.model.merges.size(); ++i) {
    const BpeMerge& got = spec.model.merges[i];
    const BpeMerge& want = json.model.merges[i];
    if (got.left != want.left || got.right != want.right || got.result != want.result) {
      if (++differences <= 5) {
        ADD_FAILURE() << "merges[" << i << "] is " << MergeText(spec, got) << ", expected "
                      << MergeText(json, want);
      }
    }
  }
  EXPECT_EQ(differences, 0u);

  EXPECT_EQ(spec.model.kind, ModelSpec::Kind::kBpe);
  EXPECT_TRUE(spec.model.vocab == json.model.vocab);
  EXPECT_EQ(spec.model.vocab.size(), 32000u);
  EXPECT_EQ(spec.model.options.unk_id, json.model.options.unk_id);
  EXPECT_EQ(spec.model.options.unk_id, 0);
  EXPECT_EQ(spec.model.options.fuse_unk, json.model.options.fuse_unk);
  EXPECT_EQ(spec.model.options.byte_fallback, json.model.options.byte_fallback);
  EXPECT_EQ(spec.model.options.ignore_merges, json.model.options.ignore_merges);
  EXPECT_EQ(spec.model.options.continuing_subword_prefix,
            json.model.options.continuing_subword_prefix);
  EXPECT_EQ(spec.model.options.end_of_word_suffix, json.model.options.end_of_word_suffix);

  ASSERT_EQ(spec.added_tokens.size(), json.added_tokens.size());
  for (size_t i = 0; i < json.added_tokens.size(); ++i) {
    const AddedToken& got = spec.added_tokens[i];
    const AddedToken& want = json.added_tokens[i];
    EXPECT_EQ(got.id, want.id);
    EXPECT_EQ(got.content, want.content);
    EXPECT_EQ(got.single_word, want.single_word);
    EXPECT_EQ(got.lstrip, want.lstrip);
    EXPECT_EQ(got.rstrip, want.rstrip);
    EXPECT_EQ(got.normalized, want.normalized);
    EXPECT_EQ(got.special, want.special);
  }

  ASSERT_EQ(spec.normalizers.size(), json.normalizers.size());
  for (size_t i = 0; i < json.normalizers.size(); ++i) {
    EXPECT_EQ(spec.normalizers[i].kind, json.normalizers[i].kind);
    EXPECT_EQ(spec.normalizers[i].content, json.normalizers[i].content);
    EXPECT_EQ(spec.normalizers[i].pattern.text, json.normalizers[i].pattern.text);
    EXPECT_EQ(spec.normalizers[i].pattern.is_regex, json.normalizers[i].pattern.is_regex);
  }
  EXPECT_TRUE(spec.pre_tokenizers.empty());
  EXPECT_TRUE(json.pre_tokenizers.empty());

  ASSERT_EQ(spec.single_template.size(), json.single_template.size());
  for (size_t i = 0; i < json.single_template.size(); ++i) {
    EXPECT_EQ(spec.single_template[i].is_sequence, json.single_template[i].is_sequence);
    EXPECT_EQ(spec.single_template[i].ids, json.single_template[i].ids);
  }

  ASSERT_EQ(spec.decoders.size(), json.decoders.size());
  for (size_t i = 0; i < json.decoders.size(); ++i) {
    const DecoderStep& got = spec.decoders[i];
    const DecoderStep& want = json.decoders[i];
    EXPECT_EQ(got.kind, want.kind);
    EXPECT_EQ(got.content, want.content);
    EXPECT_EQ(got.start, want.start);
    EXPECT_EQ(got.stop, want.stop);
    EXPECT_EQ(got.pattern.text, want.pattern.text);
    EXPECT_EQ(got.pattern.is_regex, want.pattern.is_regex);
  }
}

TEST_F(SentencePieceMistralTest, MatchesSpecialTokensWrittenInTheText) {
  EXPECT_EQ(tokenizer_->Encode("<s>", SpecialTokens::kOmit), std::vector<int64_t>{1});
  EXPECT_EQ(tokenizer_->Encode("Hello</s>", SpecialTokens::kAdd),
            (std::vector<int64_t>{1, 22557, 2}));
  EXPECT_EQ(tokenizer_->Decode({1, 22557}, SpecialTokenText::kKeep), "<s> Hello");
  EXPECT_EQ(tokenizer_->Decode({1, 22557}, SpecialTokenText::kSkip), "Hello");
  EXPECT_EQ(tokenizer_->Decode({22557, 2, 1, 22557}, SpecialTokenText::kKeep),
            "Hello</s><s> Hello");
  EXPECT_EQ(tokenizer_->Decode({0, 13}, SpecialTokenText::kKeep), "<unk>\n");
  EXPECT_EQ(tokenizer_->Decode({0, 13}, SpecialTokenText::kSkip), "\n");
}

TEST_F(SentencePieceMistralTest, VocabularyAndSpecialTokens) {
  EXPECT_EQ(tokenizer_->vocab_size(), 32000);
  EXPECT_EQ(tokenizer_->IdToToken(22557), std::string(kSpace) + "Hello");
  EXPECT_EQ(tokenizer_->IdToToken(13), "<0x0A>");
  EXPECT_EQ(tokenizer_->TokenToId("</s>"), 2);
  EXPECT_EQ(tokenizer_->TokenToId("no such piece"), std::nullopt);
  EXPECT_TRUE(tokenizer_->IsSpecial(0));
  EXPECT_TRUE(tokenizer_->IsSpecial(1));
  EXPECT_TRUE(tokenizer_->IsSpecial(2));
  EXPECT_FALSE(tokenizer_->IsSpecial(3));  // <0x00>
  EXPECT_FALSE(tokenizer_->IsSpecial(22557));
  EXPECT_EQ(special_ids_.bos, 1);
  EXPECT_EQ(special_ids_.eos, 2);
}

// OpenTokenizer opens a .model with this reader and sets the generation ids.
TEST_F(SentencePieceMistralTest, OpenTokenizerSetsBosAndEos) {
  const std::shared_ptr<Tokenizer> opened = OpenTokenizer(Runfile(kModel));
  EXPECT_EQ(opened->Encode("Hello", SpecialTokens::kAdd), (std::vector<int64_t>{1, 22557}));
  const TokenizerSpecialIds& special = opened->special_ids();
  EXPECT_EQ(special.bos, 1);
  EXPECT_EQ(special.eos, 2);
  EXPECT_EQ(special.stop, std::vector<int64_t>{2});
  EXPECT_EQ(opened->source(), Runfile(kModel));
}

TEST_F(SentencePieceMistralTest, StreamsTheTextDecodeGives) {
  const std::vector<OracleRecord>& records = OracleRecords("mistral");
  for (const size_t index : {4u, 10u, 28u, 44u, 91u}) {
    ASSERT_LT(index, records.size());
    const std::vector<int64_t>& ids = records[index].ids_special;
    for (const SpecialTokenText special : {SpecialTokenText::kSkip, SpecialTokenText::kKeep}) {
      StreamingDecoder decoder(*tokenizer_, special);
      std::string streamed;
      for (const int64_t id : ids) streamed += decoder.Step(id);
      streamed += decoder.Finish();
      EXPECT_EQ(streamed, tokenizer_->Decode(ids, special)) << "corpus[" << index << "]";
    }
  }
}

// The merge order on a small model: by the merged piece's score, highest
// first; equal scores by the merged piece's id, then by the left piece's id;
// pieces 0-2 score 0 whatever the file says; only splits into two pieces of
// the vocabulary, at character boundaries.
TEST(SentencePieceModelTest, OrdersMergesAsTransformers) {
  const std::string model =
      PieceField("<unk>", 0, kUnknown) + PieceField("<s>", 0, kControl) +
      PieceField("</s>", -100, kControl) +                                          // 2: scores 0
      PieceField("a", -1, kNormal) + PieceField("b", -2, kNormal) +                 // 3, 4
      PieceField("ab", -20, kNormal) + PieceField("\u00e9", -3, kNormal) +          // 5, 6
      PieceField("a\u00e9", -10, kNormal) + PieceField("ab\u00e9", -10, kNormal) +  // 7, 8
      PieceField("ba", -10, kNormal) + PieceField("bab", -30, kNormal) +            // 9, 10
      PieceField("<u>", 0, kUserDefined) + PieceField("</", -40, kNormal) +         // 11, 12
      PieceField("s>", -41, kNormal) +                                              // 13
      BpeTrainerSpec() + IdentityNormalizerSpec();
  const PipelineSpec spec = ParseSentencePieceModel(model, "small.model");
  EXPECT_EQ(MergeTexts(spec), (std::vector<std::string>{
                                  "</ s> -> </s>",          // 0 (LlamaConverter's)
                                  "a \u00e9 -> a\u00e9",    // -10, piece 7
                                  "ab \u00e9 -> ab\u00e9",  // -10, piece 8 ("b\u00e9": none)
                                  "b a -> ba",              // -10, piece 9
                                  "a b -> ab",              // -20
                                  "b ab -> bab",            // -30, left piece 4
                                  "ba b -> bab",            // -30, left piece 9
                              }));
  ASSERT_EQ(spec.added_tokens.size(), 4u);
  const std::vector<std::pair<std::string, bool>> added = {
      {"<unk>", true}, {"<s>", true}, {"</s>", true}, {"<u>", false}};
  for (size_t i = 0; i < added.size(); ++i) {
    EXPECT_EQ(spec.added_tokens[i].content, added[i].first);
    EXPECT_EQ(spec.added_tokens[i].special, added[i].second);
    EXPECT_FALSE(spec.added_tokens[i].normalized);
  }
  EXPECT_EQ(spec.added_tokens[3].id, 11);
  EXPECT_FALSE(spec.model.options.byte_fallback);

  // The pipeline runs: user-defined pieces are matched in the text, and what the
  // vocabulary lacks ("▁", "c") is <unk>, fused.
  PipelineTokenizer tokenizer(spec);
  EXPECT_EQ(tokenizer.Encode("ab\u00e9<u>bab cc", SpecialTokens::kAdd),
            (std::vector<int64_t>{1, 0, 8, 11, 0, 10, 0}));
  EXPECT_EQ(tokenizer.Decode({1, 8, 11, 10}, SpecialTokenText::kSkip), "ab\u00e9<u>bab");
}

// Without add_dummy_prefix: no Prepend normalizer, no Strip decoder; no BOS
// piece: no template; another BOS piece named in trainer_spec: that one.
TEST(SentencePieceModelTest, FollowsTheDummyPrefixAndTheBosPiece) {
  const std::string pieces = SpecialPieces() + PieceField(kSpace, -1, kNormal) +
                             PieceField("x", -2, kNormal) +
                             PieceField(std::string(kSpace) + "x", -3, kNormal);
  SentencePieceSpecialIds special;
  const PipelineSpec plain = ParseSentencePieceModel(
      pieces + BpeTrainerSpec() + IdentityNormalizerSpec(false), "plain.model", &special);
  ASSERT_EQ(plain.normalizers.size(), 1u);
  EXPECT_EQ(plain.normalizers[0].kind, NormalizerStep::Kind::kReplace);
  ASSERT_EQ(plain.decoders.size(), 3u);
  EXPECT_EQ(plain.decoders.back().kind, DecoderStep::Kind::kFuse);
  EXPECT_EQ(special.bos, 1);
  EXPECT_EQ(special.eos, 2);
  PipelineTokenizer tokenizer(plain);
  EXPECT_EQ(tokenizer.Encode("x x", SpecialTokens::kAdd), (std::vector<int64_t>{1, 4, 5}));
  EXPECT_EQ(tokenizer.Decode({1, 4, 5}, SpecialTokenText::kKeep), "<s>x x");

  const PipelineSpec prefixed = ParseSentencePieceModel(
      pieces + BpeTrainerSpec() + IdentityNormalizerSpec(true), "prefixed.model");
  EXPECT_EQ(PipelineTokenizer(prefixed).Encode("x x", SpecialTokens::kAdd),
            (std::vector<int64_t>{1, 5, 5}));

  // <s> is a NORMAL piece and trainer_spec names none: no BOS, no template.
  const std::string no_bos = PieceField("<unk>", 0, kUnknown) + PieceField("<s>", 0, kNormal) +
                             PieceField("</s>", 0, kControl) + PieceField("x", -2, kNormal);
  const PipelineSpec without = ParseSentencePieceModel(
      no_bos + BpeTrainerSpec() + IdentityNormalizerSpec(false), "no_bos.model", &special);
  EXPECT_EQ(special.bos, std::nullopt);
  EXPECT_EQ(special.eos, 2);
  EXPECT_TRUE(without.single_template.empty());
  EXPECT_EQ(PipelineTokenizer(without).Encode("x", SpecialTokens::kAdd), std::vector<int64_t>{3});

  // trainer_spec.bos_piece (46) "<B>": the CONTROL piece of that name.
  const std::string named = SpecialPieces() + PieceField("<B>", 0, kControl) +
                            BytesField(2, IntField(3, 2) + BytesField(46, "<B>")) +
                            IdentityNormalizerSpec();
  const PipelineSpec with_named = ParseSentencePieceModel(named, "named.model", &special);
  EXPECT_EQ(special.bos, 3);
  ASSERT_EQ(with_named.single_template.size(), 2u);
  EXPECT_EQ(with_named.single_template[0].ids, std::vector<int32_t>{3});
}

// What ParseSentencePieceModel says about `bytes`.
std::string ParseError(const std::string& bytes) {
  return ErrorOf<TokenizerLoadError>([&] { ParseSentencePieceModel(bytes, "bad.model"); });
}

TEST(SentencePieceModelTest, RefusesFilesThatAreNotWellFormed) {
  const std::string model = ReadBytes(Runfile(kModel));
  ASSERT_GT(model.size(), 100000u);

  // Cut inside the normalizer_spec, the last field.
  const std::string truncated = TempFile("truncated.model", model.substr(0, model.size() - 10));
  const std::string truncated_error =
      ErrorOf<TokenizerLoadError>([&] { ReadSentencePieceModel(truncated); });
  EXPECT_THAT(truncated_error, HasSubstr("truncated.model at byte "));
  EXPECT_THAT(truncated_error,
              HasSubstr(": normalizer_spec: its length, 16 bytes, runs past the end of the file (" +
                        std::to_string(model.size() - 10) + " bytes) (6 bytes left)"));
  // Cut in the middle of the pieces: inside piece 22557, "▁Hello" (its message
  // starts with the key and length of its string, 0x0A 0x08).
  const size_t hello = model.find("\x0a\x08\u2581Hello");
  ASSERT_NE(hello, std::string::npos);
  // The piece's message (17 bytes: its string, score and type) starts at hello.
  EXPECT_EQ(ParseError(model.substr(0, hello + 4)),
            "cannot load tokenizer bad.model at byte " + std::to_string(hello - 1) +
                ": pieces[22557]: its length, 17 bytes, runs past the end of the file (" +
                std::to_string(hello + 4) + " bytes) (4 bytes left)");

  EXPECT_THAT(ParseError(""), HasSubstr("the file is empty: not a SentencePiece model"));
  // Text: 'h' is field 13 (varint), 'e' its value, 'l' field 13 with wire type 4.
  EXPECT_EQ(ParseError("hello, world"),
            "cannot load tokenizer bad.model at byte 2: field 13 has wire type 4 (end group): "
            "groups are not read (SentencePiece models have none)");
  EXPECT_EQ(ParseError(std::string(12, '\xff')),
            "cannot load tokenizer bad.model at byte 0: a field key: the varint overflows 64 bits");
  EXPECT_THAT(ParseError(std::string("\x0f", 1)),
              HasSubstr("at byte 0: field 1 has wire type 7 (no such wire type)"));
  EXPECT_THAT(ParseError(std::string("\x00\x01", 2)),
              HasSubstr("at byte 0: a field key: field number 0, which protobuf does not allow"));
  // A model without its trainer_spec and normalizer_spec parses, and is refused
  // for SentencePiece's defaults (unigram).
  EXPECT_THAT(ParseError(SpecialPieces()),
              HasSubstr("trainer_spec.model_type is UNIGRAM (1) (not set: SentencePiece's "
                        "default): unigram models are not supported"));
}

TEST(SentencePieceModelTest, RefusesAVarintRunningOffTheEnd) {
  // trainer_spec (2 bytes): model_type's key, then a varint byte that says more follow.
  const std::string bytes = SpecialPieces() + BytesField(2, "\x18\x80");
  const size_t varint_at = bytes.size() - 1;
  EXPECT_EQ(ParseError(bytes),
            "cannot load tokenizer bad.model at byte " + std::to_string(varint_at) +
                ": trainer_spec.model_type: the varint runs past the end of trainer_spec (byte " +
                std::to_string(bytes.size()) + ") after 1 byte");
  // At the end of the file, in a length.
  EXPECT_THAT(ParseError(SpecialPieces() + "\x12\xff"),
              HasSubstr("trainer_spec: the length: the varint runs past the end of the file"));
  // A float cut short.
  EXPECT_THAT(ParseError(BytesField(1, BytesField(1, "a") + Key(2, 5) + std::string(2, '\0'))),
              HasSubstr("at byte 6: pieces[0].score: a 4-byte float runs past the end of "
                        "pieces[0] (byte 8) (2 bytes left)"));
}

TEST(SentencePieceModelTest, RefusesFieldsOfTheWrongTypeAndBadPieces) {
  const std::string specs = BpeTrainerSpec() + IdentityNormalizerSpec();
  EXPECT_THAT(ParseError(BytesField(1, BytesField(1, "a") + IntField(2, 3)) + specs),
              HasSubstr("at byte 5: pieces[0].score (field 2) has wire type 0 (varint), expected "
                        "5 (fixed32)"));
  EXPECT_THAT(ParseError(BytesField(1, BytesField(1, "a") + IntField(3, 9)) + specs),
              HasSubstr("at byte 5: pieces[0].type is 9, not a SentencePiece piece type"));
  EXPECT_THAT(ParseError(IntField(2, 1)),
              HasSubstr("at byte 0: trainer_spec (field 2) has wire type 0 (varint), expected 2 "
                        "(length-delimited)"));
  EXPECT_THAT(ParseError(SpecialPieces() + PieceField("a\xff", 0, kNormal) + specs),
              HasSubstr("pieces[3].piece is not UTF-8: 'a\\xff' (byte 1 of the string)"));
  EXPECT_THAT(ParseError(SpecialPieces() + PieceField("", 0, kNormal) + specs),
              HasSubstr("pieces[3].piece is empty"));
  EXPECT_THAT(ParseError(SpecialPieces() + PieceField("<s>", -1, kNormal) + specs),
              HasSubstr("pieces[3] '<s>' is already pieces[1]"));
  EXPECT_THAT(ParseError(SpecialPieces() + PieceField("x", -1, kUnused) + specs),
              HasSubstr("pieces[3] 'x' is UNUSED: not supported"));
  EXPECT_THAT(ParseError(PieceField("<s>", 0, kControl) + specs),
              HasSubstr("the model has no UNKNOWN piece"));
  EXPECT_THAT(ParseError(SpecialPieces() + PieceField("<0x0A>", 0, kByte) + specs),
              HasSubstr("pieces[3] '<0x0A>' is a BYTE piece, but trainer_spec.byte_fallback is "
                        "false"));
  EXPECT_THAT(ParseError(SpecialPieces() + PieceField("<0x0A>", 0, kByte) + BpeTrainerSpec(true) +
                         IdentityNormalizerSpec()),
              HasSubstr("trainer_spec.byte_fallback is true, but the model has no BYTE piece "
                        "<0x00> (it needs all 256)"));
  EXPECT_THAT(ParseError(SpecialPieces() + PieceField("<0x0a>", 0, kByte) + BpeTrainerSpec(true) +
                         IdentityNormalizerSpec()),
              HasSubstr("pieces[3] '<0x0a>' is a BYTE piece but not written <0xHH>"));
  // Fields this reader does not use are skipped, whatever their wire type.
  const std::string unknown = Key(9, 1) + std::string(8, 'x') + Key(99, 5) + "abcd" +
                              IntField(1000, 5) + BytesField(4, "self test");
  const PipelineSpec spec = ParseSentencePieceModel(SpecialPieces() + unknown + specs, "ok.model");
  EXPECT_EQ(spec.model.vocab.size(), 3u);
}

TEST(SentencePieceModelTest, RefusesWhatTheConversionCannotRepresent) {
  const std::string model = ReadBytes(Runfile(kModel));
  // A later trainer_spec merges into the first one, as protobuf merges messages.
  const std::string unigram = model + BytesField(2, IntField(3, 1));
  EXPECT_EQ(ParseError(unigram), "cannot load tokenizer bad.model at byte " +
                                     std::to_string(model.size() + 2) +
                                     ": trainer_spec.model_type is UNIGRAM (1): unigram models "
                                     "are not supported; only BPE models (model_type 2) can be "
                                     "read");
  EXPECT_THAT(ParseError(model + BytesField(2, IntField(3, 4))),
              HasSubstr("trainer_spec.model_type is CHAR (4): not supported"));
  EXPECT_THAT(ParseError(model + BytesField(3, BytesField(1, "nmt_nfkc") +
                                                   BytesField(2, std::string(300, '\x01')))),
              HasSubstr("at byte " + std::to_string(model.size() + 13) +
                        ": normalizer_spec.precompiled_charsmap holds a normalizer (300 bytes, "
                        "'nmt_nfkc'): not supported; only the identity normalizer can be read"));
  EXPECT_EQ(ParseError(model + BytesField(3, BytesField(1, "nfkc"))),
            "cannot load tokenizer bad.model at byte " + std::to_string(model.size() + 2) +
                ": normalizer_spec.name is 'nfkc': not supported; only the identity normalizer "
                "can be read");
  EXPECT_THAT(ParseError(model + BytesField(3, IntField(4, 1))),
              HasSubstr("at byte " + std::to_string(model.size() + 2) +
                        ": normalizer_spec.remove_extra_whitespaces is true: not supported"));
  EXPECT_THAT(ParseError(SpecialPieces() + BpeTrainerSpec()),
              HasSubstr("normalizer_spec.remove_extra_whitespaces is not set (SentencePiece's "
                        "default: true): not supported"));
  EXPECT_THAT(ParseError(model + BytesField(3, IntField(5, 0))),
              HasSubstr("normalizer_spec.escape_whitespaces is false: not supported"));
  EXPECT_THAT(ParseError(model + BytesField(2, IntField(24, 1))),
              HasSubstr("trainer_spec.treat_whitespace_as_suffix is true: not supported"));
  EXPECT_THAT(ParseError(model + BytesField(5, BytesField(2, "xyz"))),
              HasSubstr("denormalizer_spec.precompiled_charsmap holds a denormalizer (3 bytes)"));
  EXPECT_THAT(ParseError(model + BytesField(2, BytesField(45, "<unknown>"))),
              HasSubstr("trainer_spec.unk_piece is '<unknown>' but the UNKNOWN piece is '<unk>' "
                        "(pieces[0])"));
}

TEST(SentencePieceModelTest, RefusesMissingFilesAndFolders) {
  EXPECT_THAT(ErrorOf<TokenizerLoadError>([] { ReadSentencePieceModel("/nonexistent/x.model"); }),
              HasSubstr("cannot load tokenizer /nonexistent/x.model: cannot open the file"));
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string directory = std::string(tmp != nullptr ? tmp : "/tmp") + "/dir.model";
  std::filesystem::create_directories(directory);
  EXPECT_THAT(ErrorOf<TokenizerLoadError>([&] { ReadSentencePieceModel(directory); }),
              HasSubstr("is a directory, not a SentencePiece model"));
}

}  // namespace
}  // namespace modelhub
