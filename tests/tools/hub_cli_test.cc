// `modelhub hub list|help` and `forward REPO NAME` against GitHub repositories
// of asset cards served by the loopback fake: the default branch (main or
// master), the hub folder cache and --force-reload, ref validation (branches,
// tags, --skip-validation, GITHUB_TOKEN only on the API), trust (refused,
// --trust, trusted_list), malformed cards, hubconf.yaml, --source local and
// the usage errors.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "tests/testing/fake_hub.h"
#include "tests/tools/modelhub_command.h"

namespace {

namespace fs = std::filesystem;
using ::modelhub::testing::CommandResult;
using ::modelhub::testing::FakeHub;
using ::modelhub::testing::Modelhub;
using ::modelhub::testing::Slurp;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const fs::path kTmp = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";

void WriteFile(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

int Count(const std::string& text, const std::string& part) {
  int count = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) {
    ++count;
  }
  return count;
}

// The "next token after N tokens" line of forward's output and the 5 lines
// after it ("" when it is not there).
std::string TopFive(const std::string& out) {
  const size_t start = out.find("next token after ");
  if (start == std::string::npos) return "";
  size_t end = start;
  for (int line = 0; line < 6 && end != std::string::npos; ++line) {
    end = out.find('\n', end);
    if (end != std::string::npos) ++end;
  }
  return out.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

class HubCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = kTmp / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(root_);
    fs::create_directories(root_ / "github");
    fs::create_directories(root_ / "files");
    tiny_ = fs::absolute("cards/tiny").lexically_normal().string();
    ASSERT_TRUE(fs::is_directory(tiny_)) << tiny_;
    hub_ = std::make_unique<FakeHub>(
        FakeHub::Options{"", (root_ / "files").string(), "", (root_ / "github").string()});
    // acme/cards: branch main with two cards in cards/.
    WriteFile(Branch("acme", "cards", "main") / "cards" / "acme.yaml", CardsText());
    setenv("TORCH_HOME", (root_ / "torch").c_str(), 1);
    setenv("MODELHUB_GITHUB_URL", hub_->endpoint().c_str(), 1);
    setenv("MODELHUB_GITHUB_API_URL", hub_->github_api_url().c_str(), 1);
    setenv("MODELHUB_ASSET_DIR", "/nonexistent", 1);
    setenv("MODELHUB_USER_ASSET_DIR", "/nonexistent", 1);
    setenv("MODELHUB_CACHE_DIR", (root_ / "modelhub").c_str(), 1);
    setenv("HF_HUB_CACHE", (root_ / "hf").c_str(), 1);
    unsetenv("HF_HUB_OFFLINE");
    unsetenv("HF_TOKEN");
    unsetenv("GITHUB_TOKEN");
  }

  fs::path Branch(const std::string& owner, const std::string& repo, const std::string& name) {
    return root_ / "github" / owner / repo / "heads" / name;
  }
  fs::path Tag(const std::string& owner, const std::string& repo, const std::string& name) {
    return root_ / "github" / owner / repo / "tags" / name;
  }

  std::string CardsText() const {
    return "name: acme_tiny\nbase: tiny\ndoc: A tiny Llama for tests.\ncheckpoint: " + tiny_ +
           "\n---\nname: acme_remote\nbase: tiny\ncheckpoint: " + RemoteUrl() + "\n";
  }
  std::string RemoteUrl() const { return hub_ ? hub_->file_url("acme/remote.pth") : ""; }

  // The lines `hub list` prints for CardsText().
  std::string Listed() const {
    return "acme_remote llama llama3_2_1b " + RemoteUrl() + "\nacme_tiny llama llama3_2_1b " +
           tiny_ + "\n";
  }

  // The paths of the GET requests logged (the downloads may send a HEAD first).
  std::vector<std::string> Paths() const {
    std::vector<std::string> paths;
    for (const FakeHub::Request& request : hub_->Requests()) {
      if (request.method == "GET") paths.push_back(request.path);
    }
    return paths;
  }

  std::string TrustedList() const {
    return Slurp((root_ / "torch" / "hub" / "trusted_list").string());
  }

  fs::path root_;
  std::string tiny_;
  std::unique_ptr<FakeHub> hub_;
};

TEST_F(HubCliTest, ListFindsMainThenUsesTheCacheAndFallsBackToMaster) {
  CommandResult first = Modelhub("hub list acme/cards");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out, Listed());
  const std::string dir = (root_ / "torch" / "hub" / "acme_cards_main").string();
  EXPECT_THAT(first.err,
              HasSubstr("Downloading: \"" + hub_->endpoint() + "/acme/cards/zipball/main\""));
  EXPECT_TRUE(fs::is_regular_file(fs::path(dir) / "cards" / "acme.yaml"));
  EXPECT_EQ(Paths(), (std::vector<std::string>{
                         "/acme/cards/tree/main/",
                         "/ghapi/repos/acme/cards/branches?per_page=100&page=1",
                         "/acme/cards/zipball/main",
                         "/codeload/acme/cards/legacy.zip/main",
                     }));

  hub_->ClearRequests();
  CommandResult second = Modelhub("hub list acme/cards");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out, Listed());
  EXPECT_THAT(second.err, HasSubstr("Using cache found in " + dir));
  EXPECT_THAT(second.err, Not(HasSubstr("Downloading")));
  EXPECT_EQ(Paths(), std::vector<std::string>{"/acme/cards/tree/main/"});
  EXPECT_EQ(hub_->Requests().size(), 1u);  // no HEAD either

  // A repository with only a master branch.
  WriteFile(Branch("acme", "old", "master") / "cards" / "old.yaml",
            "name: acme_old\nbase: tiny\ncheckpoint: " + tiny_ + "\n");
  hub_->ClearRequests();
  CommandResult master = Modelhub("hub list acme/old");
  ASSERT_EQ(master.exit_code, 0) << master.err;
  EXPECT_EQ(master.out, "acme_old llama llama3_2_1b " + tiny_ + "\n");
  EXPECT_TRUE(fs::is_directory(root_ / "torch" / "hub" / "acme_old_master"));
  EXPECT_FALSE(fs::exists(root_ / "torch" / "hub" / "acme_old_main"));
  ASSERT_FALSE(hub_->Requests().empty());
  EXPECT_EQ(hub_->Requests()[0].path, "/acme/old/tree/main/");
  EXPECT_EQ(hub_->Requests()[0].status, 404);
  EXPECT_THAT(Paths(), ::testing::Contains("/acme/old/zipball/master"));
}

TEST_F(HubCliTest, HelpPrintsTheDocThenTheCard) {
  CommandResult help = Modelhub("hub help acme/cards acme_tiny");
  ASSERT_EQ(help.exit_code, 0) << help.err;
  EXPECT_THAT(help.out, StartsWith("A tiny Llama for tests.\n\n# card acme_tiny ("));
  EXPECT_THAT(help.out, HasSubstr("acme.yaml:1:1, acme/cards:main)\n"));
  EXPECT_THAT(help.out, HasSubstr("\ncheckpoint: " + tiny_ + "\n"));
  EXPECT_THAT(help.out, HasSubstr("\nmodel_family: llama  # from tiny\n"));
  EXPECT_THAT(help.out, HasSubstr("\n---\n# llama llama3_2_1b ("));
  EXPECT_THAT(help.out, HasSubstr("model_dim: 256"));

  CommandResult no_doc = Modelhub("hub help acme/cards acme_remote");
  ASSERT_EQ(no_doc.exit_code, 0) << no_doc.err;
  EXPECT_THAT(no_doc.out, StartsWith("(the card has no doc)\n\n# card acme_remote ("));

  CommandResult unknown = Modelhub("hub help acme/cards nosuch");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_THAT(unknown.err, HasSubstr("acme_remote, acme_tiny"));
}

TEST_F(HubCliTest, ForwardNeedsTrustAndMatchesTheBaseCard) {
  CommandResult refused = Modelhub("forward acme/cards:main acme_tiny --tokens 1,2,3");
  EXPECT_EQ(refused.exit_code, 1) << refused.err;
  EXPECT_THAT(refused.err, HasSubstr("not trusted"));
  EXPECT_THAT(refused.err, HasSubstr("acme_tiny: " + tiny_));
  EXPECT_THAT(refused.err, HasSubstr("acme_remote: " + RemoteUrl()));
  EXPECT_EQ(refused.out, "");
  EXPECT_EQ(TrustedList(), "");

  CommandResult trusted = Modelhub("forward acme/cards:main acme_tiny --tokens 1,2,3 --trust");
  ASSERT_EQ(trusted.exit_code, 0) << trusted.err;
  EXPECT_EQ(Count(trusted.err, "Trusting card repository"), 1) << trusted.err;
  EXPECT_THAT(trusted.err, HasSubstr("Trusting card repository acme/cards:main"));
  EXPECT_EQ(TrustedList(), "acme_cards\n");
  const std::string top = TopFive(trusted.out);
  EXPECT_THAT(top, StartsWith("next token after 3 tokens (id, probability, logit):\n"));
  EXPECT_EQ(Count(top, "\n"), 6) << trusted.out;

  CommandResult again = Modelhub("forward acme/cards:main acme_tiny --tokens 1,2,3");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_THAT(again.err, Not(HasSubstr("Trusting")));
  EXPECT_THAT(again.err, HasSubstr("Using cache found in"));
  EXPECT_EQ(TrustedList(), "acme_cards\n");
  EXPECT_EQ(TopFive(again.out), top);

  CommandResult base = Modelhub("forward tiny --tokens 1,2,3");
  ASSERT_EQ(base.exit_code, 0) << base.err;
  EXPECT_EQ(TopFive(base.out), top);
}

TEST_F(HubCliTest, ForceReloadFetchesAgain) {
  ASSERT_EQ(Modelhub("hub list acme/cards:main").out, Listed());
  WriteFile(Branch("acme", "cards", "main") / "cards" / "more.yaml",
            "name: acme_more\nbase: tiny\ncheckpoint: " + tiny_ + "\n");
  CommandResult cached = Modelhub("hub list acme/cards:main");
  ASSERT_EQ(cached.exit_code, 0) << cached.err;
  EXPECT_EQ(cached.out, Listed());
  CommandResult reloaded = Modelhub("hub list acme/cards:main --force-reload");
  ASSERT_EQ(reloaded.exit_code, 0) << reloaded.err;
  EXPECT_EQ(reloaded.out, "acme_more llama llama3_2_1b " + tiny_ + "\n" + Listed());
  EXPECT_THAT(reloaded.err, HasSubstr("Downloading"));
  EXPECT_THAT(reloaded.err, Not(HasSubstr("Using cache")));
  // The folder was replaced, and nothing is left beside it.
  std::vector<std::string> hub_entries;
  for (const auto& entry : fs::directory_iterator(root_ / "torch" / "hub")) {
    hub_entries.push_back(entry.path().filename().string());
  }
  EXPECT_THAT(hub_entries, ::testing::Contains("acme_cards_main"));
  for (const std::string& entry : hub_entries) {
    EXPECT_THAT(entry, Not(HasSubstr(".unpacking"))) << entry;
    EXPECT_THAT(entry, Not(HasSubstr(".previous"))) << entry;
    EXPECT_THAT(entry, Not(HasSubstr(".zip"))) << entry;
  }
}

TEST_F(HubCliTest, RefsAreValidatedAndOnlyTheApiGetsTheToken) {
  CommandResult missing = Modelhub("hub list acme/cards:nosuch");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("cannot find nosuch"));
  EXPECT_FALSE(fs::exists(root_ / "torch" / "hub" / "acme_cards_nosuch"));

  WriteFile(Tag("acme", "cards", "v1") / "cards" / "acme.yaml", CardsText());
  hub_->ClearRequests();
  CommandResult tag = Modelhub("hub list acme/cards:v1");
  ASSERT_EQ(tag.exit_code, 0) << tag.err;
  EXPECT_EQ(tag.out, Listed());
  EXPECT_TRUE(fs::is_directory(root_ / "torch" / "hub" / "acme_cards_v1"));
  EXPECT_EQ(Paths(), (std::vector<std::string>{
                         "/ghapi/repos/acme/cards/branches?per_page=100&page=1",
                         "/ghapi/repos/acme/cards/tags?per_page=100&page=1",
                         "/acme/cards/zipball/v1",
                         "/codeload/acme/cards/legacy.zip/v1",
                     }));

  hub_->ClearRequests();
  CommandResult skipped = Modelhub("hub list acme/cards:main --skip-validation");
  ASSERT_EQ(skipped.exit_code, 0) << skipped.err;
  EXPECT_EQ(skipped.out, Listed());
  EXPECT_EQ(Paths(), (std::vector<std::string>{"/acme/cards/zipball/main",
                                               "/codeload/acme/cards/legacy.zip/main"}));
  for (const FakeHub::Request& request : hub_->Requests()) {
    EXPECT_THAT(request.path, Not(HasSubstr("/ghapi/")));
  }

  hub_->ClearRequests();
  CommandResult token = Modelhub("hub list acme/cards --force-reload", "GITHUB_TOKEN=secret");
  ASSERT_EQ(token.exit_code, 0) << token.err;
  EXPECT_EQ(Paths(), (std::vector<std::string>{
                         "/acme/cards/tree/main/",
                         "/ghapi/repos/acme/cards/branches?per_page=100&page=1",
                         "/acme/cards/zipball/main",
                         "/codeload/acme/cards/legacy.zip/main",
                     }));
  int api = 0;
  for (const FakeHub::Request& request : hub_->Requests()) {
    if (request.path.rfind("/ghapi/", 0) == 0) {
      ++api;
      EXPECT_EQ(request.authorization, "Bearer secret") << request.path;
    } else {
      EXPECT_EQ(request.authorization, "") << request.method << " " << request.path;
    }
  }
  EXPECT_EQ(api, 1);
}

TEST_F(HubCliTest, AMalformedCardNamesTheRepositoryFileAndLine) {
  WriteFile(Branch("acme", "broken", "main") / "cards" / "bad.yaml",
            "name: acme_bad\nbase: tiny\n- not a map entry\n");
  CommandResult bad = Modelhub("hub list acme/broken");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_EQ(bad.out, "");
  EXPECT_THAT(bad.err, HasSubstr("acme/broken:main"));
  EXPECT_THAT(bad.err, HasSubstr("bad.yaml:3:"));
}

TEST_F(HubCliTest, HubconfSaysWhereTheCardsAre) {
  const fs::path main = Branch("acme", "conf", "main");
  WriteFile(main / "hubconf.yaml", "# where the cards are\ncards: [models/a.yaml]\n");
  WriteFile(main / "models" / "a.yaml", "name: conf_a\nbase: tiny\ncheckpoint: " + tiny_ + "\n");
  WriteFile(main / "models" / "b.yaml", "name: conf_b\nbase: tiny\ncheckpoint: " + tiny_ + "\n");
  WriteFile(main / "cards" / "c.yaml", "name: conf_c\nbase: tiny\ncheckpoint: " + tiny_ + "\n");
  CommandResult listed = Modelhub("hub list acme/conf");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out, "conf_a llama llama3_2_1b " + tiny_ + "\n");

  WriteFile(Branch("acme", "conf", "escape") / "hubconf.yaml",
            "# where the cards are\ncards: [../x.yaml]\n");
  CommandResult escape = Modelhub("hub list acme/conf:escape");
  EXPECT_EQ(escape.exit_code, 1);
  EXPECT_THAT(escape.err, HasSubstr("hubconf.yaml:2:"));
  EXPECT_THAT(escape.err, HasSubstr("leaves the repository"));
  EXPECT_THAT(escape.err, HasSubstr("acme/conf:escape"));

  const fs::path unknown = Branch("acme", "conf", "unknown");
  WriteFile(unknown / "hubconf.yaml", "cards: [models/a.yaml]\nmodels: [a]\n");
  WriteFile(unknown / "models" / "a.yaml", "name: conf_a\nbase: tiny\ncheckpoint: " + tiny_ + "\n");
  CommandResult key = Modelhub("hub list acme/conf:unknown");
  EXPECT_EQ(key.exit_code, 1);
  EXPECT_THAT(key.err, HasSubstr("hubconf.yaml:2:1"));
  EXPECT_THAT(key.err, HasSubstr("unknown key 'models'"));
}

TEST_F(HubCliTest, ALocalFolderNeedsNoNetworkAndNoTrust) {
  const fs::path local = root_ / "local";
  WriteFile(local / "cards" / "acme.yaml", CardsText());
  hub_->ClearRequests();
  CommandResult listed = Modelhub("hub list " + local.string() + " --source local");
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  EXPECT_EQ(listed.out, Listed());
  CommandResult forward =
      Modelhub("forward " + local.string() + " acme_tiny --source local --tokens 1,2,3");
  ASSERT_EQ(forward.exit_code, 0) << forward.err;
  EXPECT_THAT(TopFive(forward.out),
              StartsWith("next token after 3 tokens (id, probability, logit):\n"));
  EXPECT_THAT(forward.err, Not(HasSubstr("Trusting")));
  EXPECT_TRUE(hub_->Requests().empty());
  EXPECT_FALSE(fs::exists(root_ / "torch" / "hub" / "trusted_list"));
}

TEST_F(HubCliTest, UsageErrors) {
  CommandResult trust_alone = Modelhub("forward tiny --trust --tokens 1");
  EXPECT_EQ(trust_alone.exit_code, 2) << trust_alone.err;
  EXPECT_THAT(trust_alone.err, HasSubstr("--trust"));
  CommandResult svn = Modelhub("hub list a/b --source svn");
  EXPECT_EQ(svn.exit_code, 2) << svn.err;
  EXPECT_THAT(svn.err, HasSubstr("svn"));
  CommandResult malformed = Modelhub("hub list not-a-repo");
  EXPECT_EQ(malformed.exit_code, 1) << malformed.err;
  EXPECT_THAT(malformed.err, HasSubstr("not-a-repo"));
  EXPECT_THAT(malformed.err, HasSubstr("owner/repo"));
  EXPECT_TRUE(hub_->Requests().empty());
}

}  // namespace
