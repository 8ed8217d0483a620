// GitHub repositories fetched as torch.hub fetches them, against the loopback
// fake's GitHub routes: owner/repo[:ref] parsing, torch.hub's folder names, the
// default branch (main, else master, else the cache when offline), the ref
// checked against branches and tags (names and commit prefixes), the archive
// unpacked and reused, force_reload replacing the folder, GITHUB_TOKEN sent
// to the API only, and failures that name the URL and leave no folder.
#include "runtime/download/github_repo.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "runtime/core/errors.h"
#include "runtime/download/torch_hub_files.h"
#include "tests/runtime/download/scoped_env.h"
#include "tests/testing/archive_writer.h"
#include "tests/testing/error_of.h"
#include "tests/testing/fake_hub.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;
using testing::ErrorOf;
using testing::FakeHub;
using ::testing::HasSubstr;

const fs::path kTmp = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

TEST(GithubRepoRefTest, ParsesOwnerRepoAndRef) {
  GithubRepoRef plain = ParseGithubRepoRef("pytorch/vision");
  EXPECT_EQ(plain.owner, "pytorch");
  EXPECT_EQ(plain.repo, "vision");
  EXPECT_EQ(plain.ref, "");
  EXPECT_EQ(plain.ToString(), "pytorch/vision");
  GithubRepoRef branch = ParseGithubRepoRef("acme/cards.v2:feature/new-card");
  EXPECT_EQ(branch.repo, "cards.v2");
  EXPECT_EQ(branch.ref, "feature/new-card");
  EXPECT_EQ(branch.ToString(), "acme/cards.v2:feature/new-card");
  for (const char* bad : {"acme", "acme/", "/cards", "a/b/c", "acme/cards:", "acme/..",
                          "acme/cards:a..b", "acme/cards:a b", "acme/cards:x:y", "ac me/cards"}) {
    const std::string message = ErrorOf<CardRepositoryError>([&] { ParseGithubRepoRef(bad); });
    EXPECT_THAT(message, HasSubstr(std::string("card repository ") + bad +
                                   ": expected "
                                   "owner/repo"))
        << bad;
  }
}

TEST(GithubRepoRefTest, CacheFolderIsTorchHubs) {
  testing::ScopedEnv env;
  env.Set("TORCH_HOME", "/th");
  SetHubDir("");
  EXPECT_EQ(GithubRepoCacheDir({"acme", "cards", "main"}), "/th/hub/acme_cards_main");
  EXPECT_EQ(GithubRepoCacheDir({"acme", "cards", "feature/x"}), "/th/hub/acme_cards_feature_x");
}

TEST(GithubRepoRefTest, SettingsComeFromTheEnvironment) {
  testing::ScopedEnv env;
  env.Unset("MODELHUB_GITHUB_URL");
  env.Unset("MODELHUB_GITHUB_API_URL");
  env.Unset("GITHUB_TOKEN");
  env.Unset("HF_HUB_OFFLINE");
  GithubSettings defaults = GithubSettingsFromEnvironment();
  EXPECT_EQ(defaults.url, "https://github.com");
  EXPECT_EQ(defaults.api_url, "https://api.github.com");
  EXPECT_EQ(defaults.token, "");
  EXPECT_FALSE(defaults.offline);
  env.Set("MODELHUB_GITHUB_URL", "https://ghe.example/");
  env.Set("MODELHUB_GITHUB_API_URL", "https://ghe.example/api/v3/");
  env.Set("GITHUB_TOKEN", "t0k");
  env.Set("HF_HUB_OFFLINE", "1");
  GithubSettings set = GithubSettingsFromEnvironment();
  EXPECT_EQ(set.url, "https://ghe.example");
  EXPECT_EQ(set.api_url, "https://ghe.example/api/v3");
  EXPECT_EQ(set.token, "t0k");
  EXPECT_TRUE(set.offline);
}

// A fake GitHub with acme/cards (branches main and dev, tag v1) and
// old/cards (branch master only).
class GithubRepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = kTmp / "github_repo";
    fs::remove_all(root_);
    const fs::path acme = root_ / "github" / "acme" / "cards";
    WriteText(acme / "heads" / "main" / "cards" / "a.yaml", "name: a\n");
    WriteText(acme / "heads" / "main" / "README.md", "cards\n");
    WriteText(acme / "heads" / "dev" / "cards" / "a.yaml", "name: a_dev\n");
    WriteText(acme / "tags" / "v1" / "cards" / "a.yaml", "name: a_v1\n");
    WriteText(root_ / "github" / "old" / "cards" / "heads" / "master" / "cards" / "a.yaml",
              "name: a_master\n");
    env_.Set("TORCH_HOME", (root_ / "torch").string());
    env_.Unset("HF_HUB_OFFLINE");
    SetHubDir("");
    FakeHub::Options options;
    options.github_dir = (root_ / "github").string();
    hub_ = std::make_unique<FakeHub>(options);
    settings_.url = hub_->endpoint();
    settings_.api_url = hub_->github_api_url();
  }

  GithubFetchOptions Options(std::ostream* log = nullptr) const {
    GithubFetchOptions options;
    options.log = log;
    options.retry.first_delay = std::chrono::milliseconds(1);
    options.retry.attempts = 2;
    return options;
  }

  std::vector<std::string> Paths() const {
    std::vector<std::string> paths;
    for (const FakeHub::Request& request : hub_->Requests()) paths.push_back(request.path);
    return paths;
  }

  fs::path root_;
  testing::ScopedEnv env_;
  std::unique_ptr<FakeHub> hub_;
  GithubSettings settings_;
};

TEST_F(GithubRepoTest, FetchesTheDefaultBranchOnceThenUsesTheFolder) {
  std::ostringstream log;
  const FetchedGithubRepo first = FetchGithubRepo({"acme", "cards", ""}, settings_, Options(&log));
  EXPECT_EQ(first.ref.ref, "main");
  EXPECT_TRUE(first.downloaded);
  EXPECT_EQ(first.dir, (root_ / "torch" / "hub" / "acme_cards_main").string());
  EXPECT_EQ(testing::ReadFileBytes(first.dir + "/cards/a.yaml"), "name: a\n");
  EXPECT_TRUE(fs::exists(first.dir + "/README.md"));
  EXPECT_THAT(log.str(),
              HasSubstr("Downloading: \"" + hub_->endpoint() + "/acme/cards/zipball/main\" to "));
  // Nothing but the folder is left in the hub folder (no archive, no staging).
  std::vector<std::string> left;
  for (const auto& entry : fs::directory_iterator(root_ / "torch" / "hub")) {
    left.push_back(entry.path().filename().string());
  }
  EXPECT_THAT(left, ::testing::ElementsAre("acme_cards_main"));
  // The probe, the ref check (one page: fewer than 100 branches), then the
  // archive: HEAD not followed (a 300 would mean a branch and a tag), then
  // HEAD for its version and GET, each redirected to codeload.
  EXPECT_THAT(Paths(),
              ::testing::ElementsAre(
                  "/acme/cards/tree/main/", "/ghapi/repos/acme/cards/branches?per_page=100&page=1",
                  "/acme/cards/zipball/main", "/acme/cards/zipball/main",
                  "/codeload/acme/cards/legacy.zip/main", "/acme/cards/zipball/main",
                  "/codeload/acme/cards/legacy.zip/main"));

  hub_->ClearRequests();
  std::ostringstream again;
  const FetchedGithubRepo second =
      FetchGithubRepo({"acme", "cards", "main"}, settings_, Options(&again));
  EXPECT_FALSE(second.downloaded);
  EXPECT_EQ(again.str(), "Using cache found in " + first.dir + "\n");
  EXPECT_TRUE(hub_->Requests().empty());
}

TEST_F(GithubRepoTest, WithoutMainTheDefaultIsMaster) {
  const FetchedGithubRepo fetched = FetchGithubRepo({"old", "cards", ""}, settings_, Options());
  EXPECT_EQ(fetched.ref.ref, "master");
  EXPECT_EQ(testing::ReadFileBytes(fetched.dir + "/cards/a.yaml"), "name: a_master\n");
}

TEST_F(GithubRepoTest, OfflineUsesTheCachedDefaultBranchOrSaysWhatIsMissing) {
  FetchGithubRepo({"old", "cards", ""}, settings_, Options());
  hub_->ClearRequests();
  settings_.offline = true;
  const FetchedGithubRepo cached = FetchGithubRepo({"old", "cards", ""}, settings_, Options());
  EXPECT_EQ(cached.ref.ref, "master");
  EXPECT_FALSE(cached.downloaded);
  EXPECT_TRUE(hub_->Requests().empty());
  EXPECT_THAT(ErrorOf<CardRepositoryError>([&] {
                FetchGithubRepo({"acme", "cards", ""}, settings_, Options());
              }),
              HasSubstr("no network (HF_HUB_OFFLINE=1) and neither a main nor a master folder"));
  EXPECT_THAT(ErrorOf<CardRepositoryError>([&] {
                FetchGithubRepo({"acme", "cards", "dev"}, settings_, Options());
              }),
              HasSubstr("acme_cards_dev is not there"));
  EXPECT_TRUE(hub_->Requests().empty());
}

TEST_F(GithubRepoTest, TheRefIsABranchTagOrCommitOfTheRepository) {
  EXPECT_EQ(
      testing::ReadFileBytes(FetchGithubRepo({"acme", "cards", "v1"}, settings_, Options()).dir +
                             "/cards/a.yaml"),
      "name: a_v1\n");
  const std::string message = ErrorOf<CardRepositoryError>([&] {
    FetchGithubRepo({"acme", "cards", "nosuch"}, settings_, Options());
  });
  EXPECT_THAT(message, HasSubstr("card repository acme/cards:nosuch: cannot find nosuch in " +
                                 hub_->endpoint() + "/acme/cards"));
  EXPECT_FALSE(fs::exists(root_ / "torch" / "hub" / "acme_cards_nosuch"));
  // Validation is skipped on request: no API request at all.
  hub_->ClearRequests();
  GithubFetchOptions skip = Options();
  skip.force_reload = true;
  skip.skip_validation = true;
  FetchGithubRepo({"acme", "cards", "dev"}, settings_, skip);
  for (const std::string& path : Paths()) EXPECT_EQ(path.find("/ghapi/"), std::string::npos);
}

TEST_F(GithubRepoTest, ACommitPrefixOfABranchIsAccepted) {
  // The fake's commit id of dev is in its branches listing.
  HttpClient client;
  std::string body;
  HttpRequest request;
  request.url = settings_.api_url + "/repos/acme/cards/branches?per_page=100&page=1";
  SendWithRetries(client, request, RetryPolicy{}, "test", "listing", &body);
  const size_t at = body.find("\"name\": \"dev\"");
  ASSERT_NE(at, std::string::npos) << body;
  const size_t sha = body.find("\"sha\": \"", at);
  ASSERT_NE(sha, std::string::npos) << body;
  const std::string prefix = body.substr(sha + 8, 10);
  const FetchedGithubRepo fetched =
      FetchGithubRepo({"acme", "cards", prefix}, settings_, Options());
  EXPECT_EQ(fetched.dir, (root_ / "torch" / "hub" / ("acme_cards_" + prefix)).string());
  EXPECT_EQ(testing::ReadFileBytes(fetched.dir + "/cards/a.yaml"), "name: a_dev\n");
}

TEST_F(GithubRepoTest, ABranchAndATagOfOneNameGiveTheBranchUnlessQualified) {
  const fs::path acme = root_ / "github" / "acme" / "cards";
  WriteText(acme / "heads" / "v2" / "cards" / "a.yaml", "name: a_branch\n");
  WriteText(acme / "tags" / "v2" / "cards" / "a.yaml", "name: a_tag\n");
  std::ostringstream log;
  const FetchedGithubRepo branch =
      FetchGithubRepo({"acme", "cards", "v2"}, settings_, Options(&log));
  EXPECT_EQ(testing::ReadFileBytes(branch.dir + "/cards/a.yaml"), "name: a_branch\n");
  EXPECT_THAT(log.str(), HasSubstr("Warning: v2 is both a branch and a tag of acme/cards; taking "
                                   "the branch (name refs/tags/v2 for the tag)"));
  EXPECT_THAT(Paths(), ::testing::Contains("/acme/cards/zipball/refs/heads/v2"));
  const FetchedGithubRepo tag =
      FetchGithubRepo({"acme", "cards", "refs/tags/v2"}, settings_, Options());
  EXPECT_EQ(tag.dir, (root_ / "torch" / "hub" / "acme_cards_refs_tags_v2").string());
  EXPECT_EQ(testing::ReadFileBytes(tag.dir + "/cards/a.yaml"), "name: a_tag\n");
  // A qualified ref is looked for in its own listing only.
  EXPECT_THAT(ErrorOf<CardRepositoryError>([&] {
                FetchGithubRepo({"acme", "cards", "refs/tags/dev"}, settings_, Options());
              }),
              HasSubstr("cannot find refs/tags/dev"));
}

TEST_F(GithubRepoTest, ForceReloadReplacesTheFolder) {
  const std::string dir = FetchGithubRepo({"acme", "cards", "main"}, settings_, Options()).dir;
  WriteText(dir + "/stale.txt", "left by the old version");
  WriteText(root_ / "github" / "acme" / "cards" / "heads" / "main" / "cards" / "a.yaml",
            "name: a2\n");
  EXPECT_EQ(
      testing::ReadFileBytes(FetchGithubRepo({"acme", "cards", "main"}, settings_, Options()).dir +
                             "/cards/a.yaml"),
      "name: a\n");
  GithubFetchOptions reload = Options();
  reload.force_reload = true;
  const FetchedGithubRepo fetched = FetchGithubRepo({"acme", "cards", "main"}, settings_, reload);
  EXPECT_TRUE(fetched.downloaded);
  EXPECT_EQ(testing::ReadFileBytes(dir + "/cards/a.yaml"), "name: a2\n");
  EXPECT_FALSE(fs::exists(dir + "/stale.txt"));
}

TEST_F(GithubRepoTest, TheTokenGoesToTheApiOnly) {
  settings_.token = "s3cret";
  FetchGithubRepo({"acme", "cards", ""}, settings_, Options());
  int api = 0;
  for (const FakeHub::Request& request : hub_->Requests()) {
    if (request.path.rfind("/ghapi/", 0) == 0) {
      ++api;
      EXPECT_EQ(request.authorization, "Bearer s3cret") << request.path;
    } else {
      EXPECT_EQ(request.authorization, "") << request.path;
    }
  }
  EXPECT_EQ(api, 1);
}

TEST_F(GithubRepoTest, FailuresNameTheUrlAndLeaveNoFolder) {
  hub_->SetFaults(R"([{"match": "/ghapi/", "kind": "status", "status": 403, "times": -1}])");
  const std::string limited = ErrorOf<AssetDownloadError>([&] {
    FetchGithubRepo({"acme", "cards", "main"}, settings_, Options());
  });
  EXPECT_THAT(limited, HasSubstr("/ghapi/repos/acme/cards/branches?per_page=100&page=1"));
  EXPECT_THAT(limited, HasSubstr("HTTP 403"));
  EXPECT_THAT(limited, HasSubstr("set GITHUB_TOKEN"));
  hub_->SetFaults(R"([{"match": "/codeload/", "kind": "status", "status": 404, "times": -1}])");
  EXPECT_THAT(ErrorOf<AssetDownloadError>([&] {
                FetchGithubRepo({"acme", "cards", "main"}, settings_, Options());
              }),
              HasSubstr("/acme/cards/zipball/main"));
  EXPECT_FALSE(fs::exists(root_ / "torch" / "hub" / "acme_cards_main"));
  // The default-branch probe fails for good and nothing is cached.
  hub_->SetFaults(R"([{"match": "/tree/", "kind": "status", "status": 503, "times": -1}])");
  EXPECT_THAT(ErrorOf<AssetDownloadError>([&] {
                FetchGithubRepo({"acme", "cards", ""}, settings_, Options());
              }),
              HasSubstr("gave up after 2 attempts"));
}

}  // namespace
}  // namespace modelhub
