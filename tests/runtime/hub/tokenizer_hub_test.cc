// Tokenizers by card: fairseq2's tokenizer fields, families and their
// configs, tokenizer_ref, and remote tokenizers fetched through the cache
// (only the tokenizer files of a repo; fairseq2's Mistral card, whose tokenizer
// is a SentencePiece model inside a .tar).

#include "runtime/hub/tokenizer_hub.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/assets/asset_store.h"
#include "runtime/core/errors.h"
#include "runtime/hub/model_loader.h"
#include "runtime/tokenizers/tokenizer_files.h"
#include "tests/testing/archive_writer.h"
#include "tests/testing/error_of.h"
#include "tests/testing/fake_hub.h"
#include "tests/testing/tiny_model.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;
using ::modelhub::testing::ErrorOf;
using ::modelhub::testing::FakeHub;
using ::testing::HasSubstr;

class Environment : public ::testing::Environment {
 public:
  void SetUp() override { testing::IsolateFromMachine(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new Environment);

constexpr char kQwen25[] = "tests/runtime/tokenizers/testdata/tokenizers/qwen25";
constexpr char kMistralModel[] =
    "tests/runtime/tokenizers/sentencepiece_testdata/mistral/tokenizer.model";
constexpr char kFairseq2Cards[] = "tests/runtime/assets/testdata/fairseq2-cards";

std::string TinyDir() { return (fs::path(BuiltinCardsDir()) / "tiny").string(); }

std::string Absolute(const std::string& path) { return fs::absolute(path).string(); }

// A store of the cards in `text` (one YAML file) in a fresh folder.
AssetStore StoreOf(const std::string& name, const std::string& text) {
  const fs::path dir = testing::FreshDir(name);
  std::ofstream(dir / "cards.yaml") << text;
  return AssetStore({AssetSource{"test", dir.string()}});
}

TEST(TokenizerHubTest, TinyCardHasItsGeneratedTokenizer) {
  const std::shared_ptr<Tokenizer> tokenizer = load_tokenizer("tiny");
  EXPECT_EQ(tokenizer->vocab_size(), 4096);
  const std::vector<int64_t> ids = tokenizer->Encode("Hello world", SpecialTokens::kAdd);
  ASSERT_FALSE(ids.empty());
  EXPECT_EQ(ids.front(), 4093);  // <|begin_of_text|>
  EXPECT_EQ(tokenizer->Decode(ids, SpecialTokenText::kSkip), "Hello world");
  EXPECT_EQ(tokenizer->special_ids().eos, 4094);  // <|end_of_text|>
  EXPECT_EQ(tokenizer->special_ids().bos, 4093);
}

TEST(TokenizerHubTest, FamilyConfigsChooseTheEndOfSequence) {
  const AssetStore store = StoreOf("family-configs", R"(
name: qwen_base
tokenizer: )" + Absolute(kQwen25) + R"(
tokenizer_family: qwen
---
name: qwen_instruct
base: qwen_base
tokenizer_config:
  use_im_end: true
---
name: tiny_chat
tokenizer: )" + TinyDir() + R"(
tokenizer_family: llama
tokenizer_config_overrides:
  use_eot: true
---
name: tiny_ref
tokenizer_ref: tiny_chat
)");
  EXPECT_EQ(LoadTokenizerFromCard(store.card("qwen_base"))->special_ids().eos, 151643);
  const auto instruct = LoadTokenizerFromCard(store.card("qwen_instruct"));
  EXPECT_EQ(instruct->special_ids().eos, 151645);  // <|im_end|>
  EXPECT_THAT(instruct->special_ids().stop, ::testing::Contains(151645));
  const auto chat = LoadTokenizerFromCard(store.card("tiny_chat"));
  EXPECT_EQ(chat->special_ids().eos, 4095);  // <|eot_id|>
  EXPECT_EQ(LoadTokenizerFromCard(store.card("tiny_ref"), {}, &store)->special_ids().eos, 4095);
}

TEST(TokenizerHubTest, BadCardsNameTheirFieldAndLine) {
  const AssetStore store = StoreOf("bad-cards", R"(
name: typo
tokenizer: )" + TinyDir() + R"(
tokenizer_family: llama
tokenizer_config:
  use_eos: true
---
name: gated
url: https://example.com/access
tokenizer_family: llama
---
name: alien
tokenizer: )" + TinyDir() + R"(
tokenizer_family: gpt
---
name: lost_ref
tokenizer_ref: nowhere
---
name: escape
tokenizer: )" + TinyDir() + R"(
tokenizer_path: ../../etc
tokenizer_family: llama
)");
  const std::string typo = ErrorOf<ConfigError>([&] { LoadTokenizerFromCard(store.card("typo")); });
  EXPECT_THAT(typo, HasSubstr("use_eos"));
  EXPECT_THAT(typo, HasSubstr("cards.yaml:6:3"));
  EXPECT_THAT(typo, HasSubstr("use_eot"));  // the closest known field
  EXPECT_THAT(ErrorOf<TokenizerGatedError>([&] { LoadTokenizerFromCard(store.card("gated")); }),
              HasSubstr("request access at https://example.com/access"));
  EXPECT_THAT(
      ErrorOf<TokenizerFamilyNotKnownError>([&] { LoadTokenizerFromCard(store.card("alien")); }),
      HasSubstr("tokenizer family 'gpt' is not known (known families: hg, llama, mistral, qwen)"));
  EXPECT_THAT(
      ErrorOf<AssetCardError>([&] { LoadTokenizerFromCard(store.card("lost_ref"), {}, &store); }),
      HasSubstr("names 'nowhere', which no asset card is"));
  EXPECT_THAT(ErrorOf<AssetCardError>([&] { LoadTokenizerFromCard(store.card("escape")); }),
              HasSubstr("must stay inside the downloaded tokenizer"));
}

TEST(TokenizerHubTest, TypedHubsReadTheBuiltInCards) {
  EXPECT_TRUE(get_qwen_tokenizer_hub().get_tokenizer_config("qwen25_0.5b_instruct").use_im_end);
  EXPECT_FALSE(get_qwen_tokenizer_hub().get_tokenizer_config("qwen25_0.5b").use_im_end);
  EXPECT_TRUE(get_llama_tokenizer_hub().get_tokenizer_config("llama3_8b_instruct").use_eot);
  EXPECT_THAT(ErrorOf<AssetCardError>(
                  [] { get_llama_tokenizer_hub().get_tokenizer_config("qwen25_0.5b"); }),
              HasSubstr("tokenizer_family of card 'qwen25_0.5b' is 'qwen', not 'llama'"));
  EXPECT_THAT(ErrorOf<TokenizerNotKnownError>([] { load_tokenizer("tinyy"); }),
              HasSubstr("did you mean: tiny"));
  std::vector<std::string> names;
  for (const auto& card : get_mistral_tokenizer_hub().iter_cards()) names.push_back(card->name());
  EXPECT_THAT(names, ::testing::Contains("mistral_7b"));
  const auto custom = get_llama_tokenizer_hub().load_custom_tokenizer(TinyDir(), {"", true, ""});
  EXPECT_EQ(custom->special_ids().eos, 4095);
}

// Remote tokenizers, from a loopback fake of the Hub and of a file server.
class RemoteTokenizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path root = testing::FreshDir("remote-tokenizers");
    const fs::path repo = root / "repos" / "org" / "tiny";
    fs::create_directories(repo);
    for (const auto& entry : fs::directory_iterator(TinyDir())) {
      fs::copy_file(entry.path(), repo / entry.path().filename());
    }
    std::ofstream(repo / "README.md") << "# tiny\n";
    fs::create_directories(root / "files");
    // fairseq2's Mistral release: a .tar holding mistral-7B-v0.1/tokenizer.model.
    testing::WriteArchive(
        (root / "files" / "mistral-7B-v0.1.tar").string(), "tar",
        {{"mistral-7B-v0.1/", "", testing::ArchiveEntry::Type::kFolder},
         {"mistral-7B-v0.1/tokenizer.model", testing::ReadFileBytes(kMistralModel)}});
    setenv("HF_HUB_CACHE", (root / "hf").c_str(), 1);
    setenv("MODELHUB_CACHE_DIR", (root / "modelhub").c_str(), 1);
    unsetenv("HF_HUB_OFFLINE");
    hub_ = std::make_unique<FakeHub>(
        FakeHub::Options{(root / "repos").string(), (root / "files").string(), ""});
    setenv("HF_ENDPOINT", hub_->endpoint().c_str(), 1);
  }
  void TearDown() override { setenv("HF_HUB_OFFLINE", "1", 1); }

  std::unique_ptr<FakeHub> hub_;
};

TEST_F(RemoteTokenizerTest, AnHgCardFetchesOnlyTheTokenizerFilesOnce) {
  const AssetStore store =
      StoreOf("hg-card", "name: remote\ntokenizer: hg://org/tiny\ntokenizer_family: llama\n");
  const auto remote = LoadTokenizerFromCard(store.card("remote"));
  const auto local = OpenTokenizer(TinyDir());
  EXPECT_EQ(remote->Encode("The garden in spring, 2024!", SpecialTokens::kAdd),
            local->Encode("The garden in spring, 2024!", SpecialTokens::kAdd));
  bool fetched_tokenizer = false;
  for (const FakeHub::Request& request : hub_->Requests()) {
    EXPECT_THAT(request.path, ::testing::Not(HasSubstr("safetensors")));
    EXPECT_THAT(request.path, ::testing::Not(HasSubstr("README")));
    fetched_tokenizer |= request.path.find("tokenizer.json") != std::string::npos;
  }
  EXPECT_TRUE(fetched_tokenizer);
  hub_->ClearRequests();
  LoadTokenizerFromCard(store.card("remote"));
  EXPECT_TRUE(hub_->Requests().empty());  // from the cache, no request at all
}

TEST_F(RemoteTokenizerTest, Fairseq2MistralCardResolvesItsSentencePieceTokenizer) {
  // fairseq2's own card, its download URL pointed at the fake file server.
  std::string cards = testing::ReadFileBytes(fs::path(kFairseq2Cards) / "mistral.yaml");
  const std::string from = "https://files.mistral-7b-v0-1.mistral.ai/";
  for (size_t at = cards.find(from); at != std::string::npos; at = cards.find(from)) {
    cards.replace(at, from.size(), hub_->file_url(""));
  }
  const AssetStore store = StoreOf("fairseq2-mistral", cards);
  const auto tokenizer = LoadTokenizerFromCard(store.card("mistral_7b"));
  EXPECT_EQ(tokenizer->Encode("Hello world", SpecialTokens::kAdd),
            (std::vector<int64_t>{1, 22557, 1526}));
  EXPECT_EQ(tokenizer->special_ids().eos, 2);
  EXPECT_EQ(tokenizer->Decode({1, 22557, 1526}, SpecialTokenText::kSkip), "Hello world");
}

}  // namespace
}  // namespace modelhub
