// Card repositories (torch.hub's list/help/load on repositories of asset
// cards): cards found through hubconf.yaml, modelhub/ or cards/; a repository
// card based on a built-in card loaded by load_model("owner/repo:ref", NAME)
// with the same logits; trust through torch.hub's trusted_list, the caller or
// a confirmation that is shown where the checkpoints come from; and the
// errors that name the repository, the file and the line.
#include "runtime/hub/card_repository.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/core/errors.h"
#include "runtime/download/torch_hub_files.h"
#include "runtime/hub/model_loader.h"
#include "tests/runtime/download/scoped_env.h"
#include "tests/testing/archive_writer.h"
#include "tests/testing/error_of.h"
#include "tests/testing/fake_hub.h"
#include "tests/testing/tiny_model.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using testing::ErrorOf;
using testing::FakeHub;
using ::testing::HasSubstr;

class Environment : public ::testing::Environment {
 public:
  void SetUp() override { testing::IsolateFromMachine(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new Environment);

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

LoadOptions Quiet() {
  LoadOptions options;
  options.progress = false;
  return options;
}

// A fake GitHub holding acme/cards (cards/ folder: acme_tiny based on the
// built-in tiny card, and a card without a checkpoint), acme/conf (hubconf.yaml naming one
// of two card files) and acme/broken (a card file with a YAML error on line
// 3).
class CardRepositoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::FreshDir("card_repository");
    const fs::path acme = root_ / "github" / "acme";
    checkpoint_ = fs::absolute("cards/tiny").string();
    WriteText(acme / "cards" / "heads" / "main" / "cards" / "models.yaml",
              "name: acme_tiny\nbase: tiny\ndoc: A tiny Llama.\ncheckpoint: " + checkpoint_ +
                  "\n---\nname: acme_gated\nmodel_family: llama\nmodel_arch: llama3_2_1b\n");
    WriteText(acme / "conf" / "heads" / "main" / "hubconf.yaml", "cards:\n  - models/a.yaml\n");
    WriteText(acme / "conf" / "heads" / "main" / "models" / "a.yaml", "name: conf_a\nbase: tiny\n");
    WriteText(acme / "conf" / "heads" / "main" / "models" / "b.yaml", "name: conf_b\nbase: tiny\n");
    WriteText(acme / "broken" / "heads" / "main" / "cards" / "bad.yaml",
              "name: broken\nbase: tiny\nmodel_config: {model_dim: [1, 2}\n");
    env_.Set("TORCH_HOME", (root_ / "torch").string());
    env_.Unset("HF_HUB_OFFLINE");
    env_.Unset("GITHUB_TOKEN");
    SetHubDir("");
    FakeHub::Options options;
    options.github_dir = (root_ / "github").string();
    hub_ = std::make_unique<FakeHub>(options);
    env_.Set("MODELHUB_GITHUB_URL", hub_->endpoint());
    env_.Set("MODELHUB_GITHUB_API_URL", hub_->github_api_url());
  }

  CardRepositoryOptions Options() {
    CardRepositoryOptions options;
    options.log = &log_;
    options.confirm = [this](const std::string& question) {
      questions_.push_back(question);
      return answer_;
    };
    return options;
  }

  fs::path root_;
  std::string checkpoint_;
  testing::ScopedEnv env_;
  std::unique_ptr<FakeHub> hub_;
  std::ostringstream log_;
  std::vector<std::string> questions_;
  bool answer_ = false;
};

TEST_F(CardRepositoryTest, ListsTheCardsOfTheRepositoryOnly) {
  const CardRepository repository = CardRepository::Open("acme/cards", Options());
  EXPECT_EQ(repository.label(), "acme/cards:main");
  EXPECT_EQ(repository.trust_name(), "acme_cards");
  EXPECT_TRUE(repository.remote());
  EXPECT_THAT(repository.card_names(), ElementsAre("acme_gated", "acme_tiny"));
  // The store also holds the built-in cards the repository's cards build on.
  EXPECT_NE(repository.store().maybe_retrieve_card("tiny"), nullptr);
  const AssetCard& card = repository.card("acme_tiny");
  EXPECT_EQ(card.string("doc"), "A tiny Llama.");
  EXPECT_EQ(card.source(), "acme/cards:main");
  EXPECT_EQ(card.string("model_family"), "llama");
  EXPECT_THAT(ErrorOf<ModelNotKnownError>([&] { repository.card("tiny"); }),
              HasSubstr("card repository acme/cards:main has acme_gated, acme_tiny"));
  EXPECT_THAT(repository.CheckpointSources(),
              ElementsAre(std::pair<std::string, std::string>("acme_gated", "no checkpoint"),
                          std::pair<std::string, std::string>("acme_tiny", checkpoint_)));
}

TEST_F(CardRepositoryTest, HubconfNamesTheCardFiles) {
  const CardRepository repository = CardRepository::Open("acme/conf:main", Options());
  EXPECT_THAT(repository.card_names(), ElementsAre("conf_a"));
  EXPECT_THAT(repository.card_paths(),
              ElementsAre((root_ / "torch" / "hub" / "acme_conf_main" / "models" / "a.yaml")));
  const fs::path local = root_ / "local";
  const auto error_of = [&](const std::string& hubconf) {
    WriteText(local / "hubconf.yaml", hubconf);
    WriteText(local / "a.yaml", "name: local_a\nbase: tiny\n");
    CardRepositoryOptions options = Options();
    options.source = RepoSource::kLocal;
    return ErrorOf<CardRepositoryError>([&] { CardRepository::Open(local.string(), options); });
  };
  const std::string hubconf = (local / "hubconf.yaml").string();
  EXPECT_THAT(error_of("cards: [a.yaml]\nextra: 1\n"),
              HasSubstr(hubconf + ":2:1: unknown key 'extra' (hubconf.yaml has one key: cards)"));
  EXPECT_THAT(error_of("cards:\n  - a.yaml\n  - ../x.yaml\n"),
              HasSubstr(hubconf + ":3:5: cards[1] '../x.yaml' leaves the repository"));
  EXPECT_THAT(error_of("cards: [/etc/passwd]\n"), HasSubstr("leaves the repository"));
  EXPECT_THAT(error_of("cards: [b.yaml]\n"),
              HasSubstr("cards[0] 'b.yaml' is not in the repository"));
  EXPECT_THAT(error_of("cards: a.yaml\n"), HasSubstr(":1:8: `cards` must be a list"));
  EXPECT_THAT(error_of("cards: [a.yaml, [x]]\n"), HasSubstr("cards[1] must be a path, not a list"));
  EXPECT_THAT(error_of("cards: [1]\n"), HasSubstr("cards[0] must be a path, not the integer 1"));
  EXPECT_THAT(error_of("cards: [a.yaml\n"), HasSubstr(hubconf + ":"));
  // Bounded as a card file is (1 MiB), refused before it is parsed.
  EXPECT_THAT(error_of("cards: [a.yaml]\n#" + std::string(kMaxCardFileBytes, 'x') + "\n"),
              HasSubstr(hubconf + ":1:1: the card file is larger than 1048576 bytes"));
  fs::create_symlink("/etc", local / "etc");
  EXPECT_THAT(error_of("cards: [etc/passwd]\n"), HasSubstr("is a link that leaves the repository"));
}

TEST_F(CardRepositoryTest, AMalformedCardNamesTheRepositoryFileAndLine) {
  const std::string message =
      ErrorOf<AssetCardError>([&] { CardRepository::Open("acme/broken", Options()); });
  EXPECT_THAT(message, HasSubstr("in card repository acme/broken:main: "));
  EXPECT_THAT(
      message,
      HasSubstr((root_ / "torch" / "hub" / "acme_broken_main" / "cards" / "bad.yaml").string() +
                ":3:"));
}

TEST_F(CardRepositoryTest, ARepositoryWithoutCardsSaysWhereItLooked) {
  WriteText(root_ / "github" / "acme" / "empty" / "heads" / "main" / "README.md", "nothing\n");
  EXPECT_THAT(ErrorOf<CardRepositoryError>([&] { CardRepository::Open("acme/empty", Options()); }),
              HasSubstr("card repository acme/empty:main: holds no cards: expected hubconf.yaml, "
                        "a modelhub/ folder or a cards/ folder"));
}

TEST_F(CardRepositoryTest, LoadsARepositoryCardOnceTrusted) {
  const at::Tensor expected = testing::FixedLogits(*load_model("tiny", ModelPlacement{}, Quiet()));
  // Not trusted, and the user says no: nothing loads, nothing is written.
  const std::string refused = ErrorOf<UntrustedRepositoryError>(
      [&] { load_model("acme/cards:main", "acme_tiny", Options(), {}, Quiet()); });
  EXPECT_THAT(refused, HasSubstr("card repository acme/cards:main: not trusted"));
  EXPECT_THAT(refused, HasSubstr("acme_tiny: " + checkpoint_));
  EXPECT_THAT(refused, HasSubstr("add the line 'acme_cards' to " + TrustedListPath()));
  ASSERT_EQ(questions_.size(), 1u);
  EXPECT_THAT(questions_[0], HasSubstr("acme_gated: no checkpoint; acme_tiny: " + checkpoint_));
  EXPECT_FALSE(fs::exists(TrustedListPath()));

  // The user says yes: trusted from now on, without asking.
  answer_ = true;
  std::shared_ptr<DecoderModel> model =
      load_model("acme/cards:main", "acme_tiny", Options(), {}, Quiet());
  EXPECT_TRUE(at::equal(testing::FixedLogits(*model), expected));
  EXPECT_EQ(testing::ReadFileBytes(TrustedListPath()), "acme_cards\n");
  EXPECT_THAT(log_.str(), HasSubstr("Trusting card repository acme/cards:main (added to " +
                                    TrustedListPath() + ")"));
  questions_.clear();
  log_.str("");
  answer_ = false;
  load_model("acme/cards:main", "acme_tiny", Options(), {}, Quiet());
  EXPECT_TRUE(questions_.empty());
  EXPECT_EQ(log_.str().find("Trusting"), std::string::npos);
  EXPECT_THROW(load_model("acme/cards:main", "acme_gated", Options(), {}, Quiet()),
               ModelGatedError);
}

TEST_F(CardRepositoryTest, TrustFromTheCallerOrFromPythonsTrustedList) {
  CardRepositoryOptions trusting = Options();
  trusting.trust = true;
  const CardRepository repository = CardRepository::Open("acme/cards:main", trusting);
  EXPECT_FALSE(repository.IsTrusted());
  repository.RequireTrust(trusting);
  EXPECT_TRUE(questions_.empty());
  EXPECT_TRUE(repository.IsTrusted());
  EXPECT_EQ(testing::ReadFileBytes(TrustedListPath()), "acme_cards\n");

  // torch.hub's own list, with its other entries and whitespace.
  WriteText(TrustedListPath(), "pytorch_vision\n  acme_conf  \n");
  EXPECT_TRUE(CardRepository::Open("acme/conf", Options()).IsTrusted());
  EXPECT_FALSE(CardRepository::Open("acme/cards", Options()).IsTrusted());
}

TEST_F(CardRepositoryTest, ALocalFolderNeedsNoTrustAndNoNetwork) {
  const fs::path local = root_ / "mine";
  WriteText(local / "modelhub" / "m.yaml",
            "name: mine_tiny\nbase: tiny\ncheckpoint: " + checkpoint_ + "\n");
  WriteText(local / "cards" / "ignored.yaml", "name: not_read\n");
  hub_->ClearRequests();
  CardRepositoryOptions options = Options();
  options.source = RepoSource::kLocal;
  const CardRepository repository = CardRepository::Open(local.string(), options);
  EXPECT_FALSE(repository.remote());
  EXPECT_EQ(repository.label(), local.string());
  EXPECT_THAT(repository.card_names(), ElementsAre("mine_tiny"));
  EXPECT_TRUE(repository.IsTrusted());
  EXPECT_NE(load_model(local.string(), "mine_tiny", options, {}, Quiet()), nullptr);
  EXPECT_TRUE(questions_.empty());
  EXPECT_TRUE(hub_->Requests().empty());
  EXPECT_THAT(ErrorOf<CardRepositoryError>(
                  [&] { CardRepository::Open((root_ / "absent").string(), options); }),
              HasSubstr("is not a folder (source local)"));
}

}  // namespace
}  // namespace modelhub
