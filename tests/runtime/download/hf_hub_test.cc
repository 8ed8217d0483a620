// The Hub client's offline parts: hg:// URIs, settings from the environment
// (endpoint, token, offline), the token hint, RepoListing::find, and a client
// in offline mode that refuses to send requests.

#include "runtime/download/hf_hub.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "runtime/core/errors.h"
#include "tests/runtime/download/scoped_env.h"
#include "tests/testing/error_of.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

// The message of the AssetDownloadError ParseHgUri(uri) throws (naming `uri`);
// a test failure when it throws none.
std::string ParseError(const std::string& uri) {
  return testing::ErrorOf<AssetDownloadError>([&] {
    try {
      ParseHgUri(uri);
    } catch (const AssetDownloadError& e) {
      EXPECT_EQ(e.uri(), uri);
      throw;
    }
  });
}

TEST(ParseHgUriTest, OrgAndName) {
  const HfRepoRef ref = ParseHgUri("hg://facebook/opt-125m");
  EXPECT_EQ(ref.repo_id, "facebook/opt-125m");
  EXPECT_EQ(ref.revision, "main");
}

TEST(ParseHgUriTest, Revision) {
  const HfRepoRef ref = ParseHgUri("hg://org/name.v2_x@refs/pr/3");
  EXPECT_EQ(ref.repo_id, "org/name.v2_x");
  EXPECT_EQ(ref.revision, "refs/pr/3");
  EXPECT_EQ(ParseHgUri("hg://org/name@0123456789abcdef0123456789abcdef01234567").revision,
            "0123456789abcdef0123456789abcdef01234567");
}

TEST(ParseHgUriTest, SinglePartName) {
  const HfRepoRef ref = ParseHgUri("hg://gpt2");
  EXPECT_EQ(ref.repo_id, "gpt2");
  EXPECT_EQ(ref.revision, "main");
}

TEST(ParseHgUriTest, TrailingSlashesAreDropped) {
  EXPECT_EQ(ParseHgUri("hg://org/name/").repo_id, "org/name");
  EXPECT_EQ(ParseHgUri("hg://org/name//").repo_id, "org/name");
  const HfRepoRef ref = ParseHgUri("hg://org/name/@dev");
  EXPECT_EQ(ref.repo_id, "org/name");
  EXPECT_EQ(ref.revision, "dev");
}

TEST(ParseHgUriTest, Errors) {
  EXPECT_THAT(ParseError("hg://org/name@"), HasSubstr("revision"));
  // A revision names refs/<revision> in the cache: it may not climb out.
  EXPECT_THAT(ParseError("hg://org/name@../../x"), HasSubstr("revision"));
  EXPECT_THAT(ParseError("hg://org/name@/abs"), HasSubstr("revision"));
  EXPECT_THAT(ParseError("hg://org/name@a b"), HasSubstr("revision"));
  EXPECT_THAT(ParseError("hg://"), HasSubstr("hg://org/name"));
  EXPECT_THAT(ParseError("hg:///"), HasSubstr("hg://org/name"));
  EXPECT_THAT(ParseError("hg://a//b"), HasSubstr("hg://org/name"));
  EXPECT_THAT(ParseError("hg://a/b/c"), HasSubstr("hg://org/name"));
  EXPECT_THAT(ParseError("hg:///name"), HasSubstr("hg://org/name"));
  EXPECT_THAT(ParseError("hg://org/na me"), HasSubstr("hg://org/name"));
  EXPECT_THAT(ParseError("hg://org/na%6De"), HasSubstr("hg://org/name"));
  EXPECT_THAT(ParseError("hg://org/name?x"), HasSubstr("hg://org/name"));
  EXPECT_THAT(ParseError("hg://../name"), HasSubstr("hg://org/name"));
  EXPECT_THAT(ParseError("hg://org/.."), HasSubstr("hg://org/name"));
  EXPECT_THAT(ParseError("hg://" + std::string(97, 'a')), HasSubstr("hg://org/name"));
  EXPECT_THAT(ParseError("hf://org/name"), HasSubstr("not an hg:// URI"));
  EXPECT_THAT(ParseError("https://huggingface.co/org/name"), HasSubstr("not an hg:// URI"));
  EXPECT_THAT(ParseError("org/name"), HasSubstr("not an hg:// URI"));
  EXPECT_THAT(ParseError(""), HasSubstr("not an hg:// URI"));
  EXPECT_THAT(ParseError("HG://org/name"), HasSubstr("not an hg:// URI"));
}

TEST(HfRepoRefTest, Uri) {
  EXPECT_EQ(ParseHgUri("hg://org/name").uri(), "hg://org/name");
  EXPECT_EQ(ParseHgUri("hg://org/name@main").uri(), "hg://org/name");
  EXPECT_EQ(ParseHgUri("hg://org/name@dev").uri(), "hg://org/name@dev");
  HfRepoRef ref;
  ref.repo_id = "gpt2";
  ref.revision = "v1.0";
  EXPECT_EQ(ref.uri(), "hg://gpt2@v1.0");
  // uri() parses back to the same reference.
  const HfRepoRef round_trip = ParseHgUri(ref.uri());
  EXPECT_EQ(round_trip.repo_id, ref.repo_id);
  EXPECT_EQ(round_trip.revision, ref.revision);
}

// Each settings test starts from an environment with none of the Hub's
// variables and a HOME with no token.
class HubSettingsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) / "hf_hub_test" /
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    fs::remove_all(root_);
    fs::create_directories(root_ / "home");
    env_.Set("HOME", (root_ / "home").string());
    for (const char* name : {"HF_ENDPOINT", "HF_TOKEN", "HF_HOME", "HF_HUB_OFFLINE", "HF_HUB_CACHE",
                             "XDG_CACHE_HOME"}) {
      env_.Unset(name);
    }
  }

  void WriteToken(const fs::path& hf_home, const std::string& text) {
    fs::create_directories(hf_home);
    std::ofstream out(hf_home / "token", std::ios::trunc);
    out << text;
  }

  testing::ScopedEnv env_;
  fs::path root_;
};

TEST_F(HubSettingsTest, Defaults) {
  const HubSettings settings = HubSettingsFromEnvironment();
  EXPECT_EQ(settings.endpoint, "https://huggingface.co");
  EXPECT_EQ(settings.token, "");
  EXPECT_FALSE(settings.offline);
  EXPECT_EQ(settings.cache_dir, (root_ / "home" / ".cache" / "huggingface" / "hub").string());
}

TEST_F(HubSettingsTest, CacheDirFollowsHfHubCacheDir) {
  env_.Set("HF_HUB_CACHE", "/somewhere/hub");
  EXPECT_EQ(HubSettingsFromEnvironment().cache_dir, "/somewhere/hub");
  EXPECT_EQ(HubSettingsFromEnvironment().cache_dir, HfHubCacheDir());
}

TEST_F(HubSettingsTest, EndpointWithoutTrailingSlash) {
  env_.Set("HF_ENDPOINT", "http://127.0.0.1:8080/");
  EXPECT_EQ(HubSettingsFromEnvironment().endpoint, "http://127.0.0.1:8080");
  env_.Set("HF_ENDPOINT", "https://mirror.example/hf//");
  EXPECT_EQ(HubSettingsFromEnvironment().endpoint, "https://mirror.example/hf");
  env_.Set("HF_ENDPOINT", "https://mirror.example");
  EXPECT_EQ(HubSettingsFromEnvironment().endpoint, "https://mirror.example");
  env_.Set("HF_ENDPOINT", "");
  EXPECT_EQ(HubSettingsFromEnvironment().endpoint, "https://huggingface.co");
}

TEST_F(HubSettingsTest, TokenFileUnderHfHome) {
  env_.Set("HF_HOME", (root_ / "hf_home").string());
  WriteToken(root_ / "hf_home", "  hf_fromfile \n");
  EXPECT_EQ(HubSettingsFromEnvironment().token, "hf_fromfile");
}

TEST_F(HubSettingsTest, TokenFileUnderDefaultHfHome) {
  WriteToken(root_ / "home" / ".cache" / "huggingface", "hf_default\n");
  EXPECT_EQ(HubSettingsFromEnvironment().token, "hf_default");
}

TEST_F(HubSettingsTest, TokenFileUnderXdgCacheHome) {
  // HF_HOME defaults as huggingface_hub's does: the token sits beside the cache.
  env_.Set("XDG_CACHE_HOME", (root_ / "xdg").string());
  WriteToken(root_ / "xdg" / "huggingface", "hf_xdg\n");
  EXPECT_EQ(HubSettingsFromEnvironment().token, "hf_xdg");
  EXPECT_EQ(HubSettingsFromEnvironment().cache_dir,
            (root_ / "xdg" / "huggingface" / "hub").string());
}

TEST_F(HubSettingsTest, HfTokenBeatsTokenFile) {
  env_.Set("HF_HOME", (root_ / "hf_home").string());
  WriteToken(root_ / "hf_home", "hf_fromfile\n");
  env_.Set("HF_TOKEN", "hf_fromenv");
  EXPECT_EQ(HubSettingsFromEnvironment().token, "hf_fromenv");
  // An empty HF_TOKEN does not hide the file.
  env_.Set("HF_TOKEN", "");
  EXPECT_EQ(HubSettingsFromEnvironment().token, "hf_fromfile");
}

TEST_F(HubSettingsTest, NoTokenFile) {
  env_.Set("HF_HOME", (root_ / "empty_hf_home").string());
  EXPECT_EQ(HubSettingsFromEnvironment().token, "");
}

TEST_F(HubSettingsTest, OfflineFlagValues) {
  for (const char* on : {"1", "true", "TRUE", "True", "yes", "YES", "on", "ON"}) {
    env_.Set("HF_HUB_OFFLINE", on);
    EXPECT_TRUE(HubSettingsFromEnvironment().offline) << on;
  }
  for (const char* off : {"0", "", "false", "no", "off", "2", "offline"}) {
    env_.Set("HF_HUB_OFFLINE", off);
    EXPECT_FALSE(HubSettingsFromEnvironment().offline) << "'" << off << "'";
  }
  env_.Unset("HF_HUB_OFFLINE");
  EXPECT_FALSE(HubSettingsFromEnvironment().offline);
}

TEST(HubTokenHintTest, MentionsHowToGiveAToken) {
  HubSettings settings;
  EXPECT_THAT(HubTokenHint(settings), HasSubstr("HF_TOKEN"));
  EXPECT_THAT(HubTokenHint(settings), HasSubstr("token"));
  settings.token = "hf_secret_value";
  const std::string refused = HubTokenHint(settings);
  EXPECT_THAT(refused, HasSubstr("HF_TOKEN"));
  EXPECT_THAT(refused, HasSubstr("refused"));
  EXPECT_THAT(refused, Not(HasSubstr("hf_secret_value")));  // never the token itself
  EXPECT_NE(refused, HubTokenHint(HubSettings{}));
}

TEST(RepoListingTest, Find) {
  RepoListing listing;
  listing.commit = "0123456789abcdef0123456789abcdef01234567";
  listing.files.push_back({"config.json", 10, ""});
  listing.files.push_back({"model.safetensors", 1234, std::string(64, 'a')});
  listing.files.push_back({"sub/tokenizer.json", 7, ""});

  const HubFile* model = listing.find("model.safetensors");
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(model, &listing.files[1]);
  EXPECT_EQ(model->size, 1234u);
  EXPECT_EQ(model->lfs_sha256, std::string(64, 'a'));
  ASSERT_NE(listing.find("sub/tokenizer.json"), nullptr);
  EXPECT_EQ(listing.find("sub/tokenizer.json")->size, 7u);
  EXPECT_EQ(listing.find("tokenizer.json"), nullptr);
  EXPECT_EQ(listing.find("CONFIG.JSON"), nullptr);
  EXPECT_EQ(listing.find(""), nullptr);
  EXPECT_EQ(RepoListing{}.find("config.json"), nullptr);
}

// A client whose endpoint no request could reach: offline mode must fail
// before trying.
class OfflineClientTest : public ::testing::Test {
 protected:
  OfflineClientTest() {
    settings_.endpoint = "http://127.0.0.1:1";
    settings_.offline = true;
    settings_.cache_dir = (fs::path(::testing::TempDir()) / "hf_hub_test_offline").string();
  }

  HubSettings settings_;
  HttpClient http_;
  DownloadProgress progress_{ProgressStyle::kSilent, 0};
};

TEST_F(OfflineClientTest, ListThrowsWithoutRequest) {
  HubRepoClient client(settings_, ParseHgUri("hg://org/name@dev"), http_);
  try {
    client.List();
    FAIL() << "List() sent a request in offline mode";
  } catch (const AssetDownloadError& e) {
    EXPECT_EQ(e.uri(), "hg://org/name@dev");
    EXPECT_THAT(e.what(), HasSubstr("offline"));
    EXPECT_THAT(e.what(), HasSubstr(client.cache().dir()));
  }
  EXPECT_EQ(client.requests(), 0);
  EXPECT_EQ(http_.bytes_received(), 0u);
}

TEST_F(OfflineClientTest, HeadAndFetchThrowWithoutRequest) {
  HubRepoClient client(settings_, ParseHgUri("hg://org/name"), http_);
  const std::string commit = "0123456789abcdef0123456789abcdef01234567";
  EXPECT_THROW(client.Head(commit, "config.json"), AssetDownloadError);
  try {
    client.Fetch(commit, "config.json", {}, progress_);
    FAIL() << "Fetch() sent a request in offline mode";
  } catch (const AssetDownloadError& e) {
    EXPECT_THAT(e.what(), HasSubstr("offline"));
    EXPECT_THAT(e.what(), HasSubstr("config.json"));
  }
  EXPECT_EQ(client.requests(), 0);
}

TEST_F(OfflineClientTest, FetchServesCachedSnapshotFile) {
  settings_.cache_dir = (fs::path(::testing::TempDir()) / "hf_hub_test_cached").string();
  fs::remove_all(settings_.cache_dir);
  HubRepoClient client(settings_, ParseHgUri("hg://org/name"), http_);
  const std::string commit = "0123456789abcdef0123456789abcdef01234567";
  {
    fs::create_directories(fs::path(client.cache().blob_path("etag")).parent_path());
    std::ofstream out(client.cache().blob_path("etag"));
    out << "{\"a\": 1}";
  }
  client.cache().LinkSnapshotFile(commit, "config.json", "etag");

  FileDownloadResult result;
  result.requests = 99;
  const std::string path = client.Fetch(commit, "config.json", {}, progress_, &result);
  EXPECT_EQ(path, (fs::path(client.cache().snapshot_dir(commit)) / "config.json").string());
  EXPECT_TRUE(result.cached);
  EXPECT_EQ(result.requests, 0);
  EXPECT_EQ(client.requests(), 0);
}

TEST_F(OfflineClientTest, Accessors) {
  HubRepoClient client(settings_, ParseHgUri("hg://org/name@v2"), http_);
  EXPECT_EQ(client.repo().repo_id, "org/name");
  EXPECT_EQ(client.repo().revision, "v2");
  EXPECT_EQ(client.settings().endpoint, "http://127.0.0.1:1");
  EXPECT_EQ(client.cache().dir(), settings_.cache_dir + "/models--org--name");
}

}  // namespace
}  // namespace modelhub
