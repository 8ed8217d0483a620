// The Hugging Face cache layout: where the cache is (environment precedence),
// commit ids and ETags, a repo's paths, refs, and snapshot symlinks, and
// file-system failures as AssetDownloadError.

#include "runtime/download/hf_cache.h"

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

constexpr char kCommit[] = "0123456789abcdef0123456789abcdef01234567";
constexpr char kOtherCommit[] = "fedcba9876543210fedcba9876543210fedcba98";

// A fresh, empty folder under the test's temporary folder.
std::string FreshDir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / "hf_cache_test" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir.string();
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return text;
}

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

TEST(HfHubCacheDirTest, EnvironmentPrecedence) {
  testing::ScopedEnv env;
  env.Set("HF_HUB_CACHE", "/hub_cache");
  env.Set("HF_HOME", "/hf_home");
  env.Set("XDG_CACHE_HOME", "/xdg");
  env.Set("HOME", "/home/someone");
  EXPECT_EQ(HfHubCacheDir(), "/hub_cache");

  env.Unset("HF_HUB_CACHE");
  EXPECT_EQ(HfHubCacheDir(), "/hf_home/hub");

  env.Set("HF_HOME", "");  // empty counts as unset
  EXPECT_EQ(HfHubCacheDir(), "/xdg/huggingface/hub");

  env.Unset("HF_HOME");
  env.Unset("XDG_CACHE_HOME");
  EXPECT_EQ(HfHubCacheDir(), "/home/someone/.cache/huggingface/hub");

  env.Set("HF_HUB_CACHE", "");
  EXPECT_EQ(HfHubCacheDir(), "/home/someone/.cache/huggingface/hub");
}

TEST(IsCommitHashTest, FortyLowercaseHexDigits) {
  EXPECT_TRUE(IsCommitHash(kCommit));
  EXPECT_TRUE(IsCommitHash(std::string(40, '0')));
  EXPECT_FALSE(IsCommitHash("main"));
  EXPECT_FALSE(IsCommitHash(""));
  EXPECT_FALSE(IsCommitHash(std::string(39, 'a')));
  EXPECT_FALSE(IsCommitHash(std::string(41, 'a')));
  EXPECT_FALSE(IsCommitHash(std::string(39, 'a') + "g"));
  EXPECT_FALSE(IsCommitHash(std::string(40, 'A')));  // the Hub's ids are lowercase
  EXPECT_FALSE(IsCommitHash(std::string(64, 'a')));  // a SHA-256, not a commit
}

TEST(NormalizeEtagTest, DropsQuotesAndWeakPrefix) {
  EXPECT_EQ(NormalizeEtag("\"abc123\""), "abc123");
  EXPECT_EQ(NormalizeEtag("W/\"abc123\""), "abc123");
  EXPECT_EQ(NormalizeEtag("abc123"), "abc123");
  EXPECT_EQ(NormalizeEtag("W/abc123"), "abc123");
  EXPECT_EQ(NormalizeEtag(""), "");
  EXPECT_EQ(NormalizeEtag("\""), "\"");  // a lone quote is not a quoted value
  EXPECT_EQ(NormalizeEtag("\"\""), "");
  EXPECT_EQ(NormalizeEtag("\"abc"), "\"abc");
}

TEST(HfCacheRepoTest, Paths) {
  const HfCacheRepo repo("/cache", "org/name");
  EXPECT_EQ(repo.folder_name(), "models--org--name");
  EXPECT_EQ(repo.dir(), "/cache/models--org--name");
  EXPECT_EQ(repo.blob_path("e1"), "/cache/models--org--name/blobs/e1");
  EXPECT_EQ(repo.partial_blob_path("e1"), "/cache/models--org--name/blobs/e1.incomplete");
  EXPECT_EQ(repo.lock_path("e1"), "/cache/.locks/models--org--name/e1.lock");
  EXPECT_EQ(repo.snapshot_dir(kCommit),
            std::string("/cache/models--org--name/snapshots/") + kCommit);
}

TEST(HfCacheRepoTest, SinglePartRepoId) {
  const HfCacheRepo repo("/cache", "gpt2");
  EXPECT_EQ(repo.folder_name(), "models--gpt2");
  EXPECT_EQ(repo.dir(), "/cache/models--gpt2");
}

TEST(HfCacheRepoTest, UnknownRevisionsDoNotResolve) {
  const HfCacheRepo repo(FreshDir("unknown"), "org/name");
  EXPECT_FALSE(repo.ResolveRevision("main").has_value());
  // A commit id resolves only when its snapshot is in the cache.
  EXPECT_FALSE(repo.ResolveRevision(kCommit).has_value());
}

TEST(HfCacheRepoTest, WriteRefThenResolveBranch) {
  const HfCacheRepo repo(FreshDir("refs"), "org/name");
  repo.WriteRef("main", kCommit);
  EXPECT_EQ(ReadText(fs::path(repo.dir()) / "refs" / "main"), kCommit);
  EXPECT_EQ(repo.ResolveRevision("main"), std::optional<std::string>(kCommit));
  EXPECT_FALSE(repo.ResolveRevision("dev").has_value());

  // Overwrites, leaving no temporary file behind.
  repo.WriteRef("main", kOtherCommit);
  EXPECT_EQ(repo.ResolveRevision("main"), std::optional<std::string>(kOtherCommit));
  int files = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(repo.dir()) / "refs")) {
    ++files;
    EXPECT_EQ(entry.path().filename(), "main");
  }
  EXPECT_EQ(files, 1);

  // A branch name with a slash (refs/pr/1) is a nested file.
  repo.WriteRef("refs/pr/1", kCommit);
  EXPECT_EQ(repo.ResolveRevision("refs/pr/1"), std::optional<std::string>(kCommit));
}

TEST(HfCacheRepoTest, RefsWrittenByHuggingFaceHubResolve) {
  const HfCacheRepo repo(FreshDir("foreign_refs"), "org/name");
  // huggingface_hub writes the commit with no newline; tolerate one anyway.
  WriteText(fs::path(repo.dir()) / "refs" / "main", std::string(kCommit) + "\n");
  EXPECT_EQ(repo.ResolveRevision("main"), std::optional<std::string>(kCommit));
  // A ref that does not hold a commit id is not trusted.
  WriteText(fs::path(repo.dir()) / "refs" / "broken", "not a commit");
  EXPECT_FALSE(repo.ResolveRevision("broken").has_value());
  WriteText(fs::path(repo.dir()) / "refs" / "empty", "");
  EXPECT_FALSE(repo.ResolveRevision("empty").has_value());
}

TEST(HfCacheRepoTest, CommitIdResolvesWhenItsSnapshotExists) {
  const HfCacheRepo repo(FreshDir("commit"), "org/name");
  fs::create_directories(repo.snapshot_dir(kCommit));
  EXPECT_EQ(repo.ResolveRevision(kCommit), std::optional<std::string>(kCommit));
  EXPECT_FALSE(repo.ResolveRevision(kOtherCommit).has_value());
  // A file where the snapshot folder should be does not count.
  WriteText(repo.snapshot_dir(kOtherCommit), "x");
  EXPECT_FALSE(repo.ResolveRevision(kOtherCommit).has_value());
}

TEST(HfCacheRepoTest, LinkSnapshotFileMakesRelativeSymlink) {
  const HfCacheRepo repo(FreshDir("link"), "org/name");
  WriteText(repo.blob_path("etag1"), "weights");
  repo.LinkSnapshotFile(kCommit, "model.safetensors", "etag1");

  const fs::path link = fs::path(repo.snapshot_dir(kCommit)) / "model.safetensors";
  ASSERT_TRUE(fs::is_symlink(fs::symlink_status(link)));
  const fs::path target = fs::read_symlink(link);
  EXPECT_TRUE(target.is_relative()) << target;
  EXPECT_EQ(target, fs::path("../../blobs/etag1"));
  EXPECT_TRUE(fs::equivalent(link, repo.blob_path("etag1")));
  EXPECT_EQ(ReadText(link), "weights");
}

TEST(HfCacheRepoTest, LinkSnapshotFileForNestedPath) {
  const HfCacheRepo repo(FreshDir("nested"), "org/name");
  WriteText(repo.blob_path("etag2"), "{}");
  repo.LinkSnapshotFile(kCommit, "a/b/c.json", "etag2");

  const fs::path link = fs::path(repo.snapshot_dir(kCommit)) / "a" / "b" / "c.json";
  ASSERT_TRUE(fs::is_symlink(fs::symlink_status(link)));
  const fs::path target = fs::read_symlink(link);
  EXPECT_TRUE(target.is_relative()) << target;
  EXPECT_EQ(target, fs::path("../../../../blobs/etag2"));
  EXPECT_TRUE(fs::equivalent(link, repo.blob_path("etag2")));
  EXPECT_EQ(ReadText(link), "{}");
}

TEST(HfCacheRepoTest, LinksSurviveMovingTheCache) {
  const std::string root = FreshDir("move");
  const HfCacheRepo repo(root + "/before", "org/name");
  WriteText(repo.blob_path("etag3"), "moved");
  repo.LinkSnapshotFile(kCommit, "sub/file.bin", "etag3");
  fs::rename(root + "/before", root + "/after");
  const HfCacheRepo moved(root + "/after", "org/name");
  EXPECT_EQ(ReadText(fs::path(moved.snapshot_dir(kCommit)) / "sub" / "file.bin"), "moved");
}

TEST(HfCacheRepoTest, LinkSnapshotFileReplacesExistingLink) {
  const HfCacheRepo repo(FreshDir("replace"), "org/name");
  WriteText(repo.blob_path("old"), "old contents");
  WriteText(repo.blob_path("new"), "new contents");
  repo.LinkSnapshotFile(kCommit, "config.json", "old");
  const fs::path link = fs::path(repo.snapshot_dir(kCommit)) / "config.json";
  ASSERT_EQ(ReadText(link), "old contents");

  repo.LinkSnapshotFile(kCommit, "config.json", "new");
  ASSERT_TRUE(fs::is_symlink(fs::symlink_status(link)));
  EXPECT_EQ(fs::read_symlink(link), fs::path("../../blobs/new"));
  EXPECT_EQ(ReadText(link), "new contents");
  // Only the link remains in the snapshot: no temporary file.
  int entries = 0;
  for (const auto& entry : fs::directory_iterator(repo.snapshot_dir(kCommit))) {
    ++entries;
    EXPECT_EQ(entry.path().filename(), "config.json");
  }
  EXPECT_EQ(entries, 1);
}

// A cache that cannot be written (here: a regular file where a folder goes)
// is modelhub's error naming the repo, the path and the operation; it was a
// std::filesystem_error.
TEST(HfCacheRepoTest, WriteRefFailureIsAnAssetDownloadError) {
  const HfCacheRepo repo(FreshDir("ref_blocked"), "org/name");
  WriteText(fs::path(repo.dir()) / "refs", "a file, not a folder");
  const std::string message =
      testing::ErrorOf<AssetDownloadError>([&] { repo.WriteRef("refs/pr/1", kCommit); });
  EXPECT_EQ(message, "cannot download hg://org/name: cannot create the folder " + repo.dir() +
                         "/refs/refs/pr: Not a directory");
}

TEST(HfCacheRepoTest, LinkSnapshotFileFailuresAreAssetDownloadErrors) {
  const HfCacheRepo repo(FreshDir("link_blocked"), "org/name");
  WriteText(repo.blob_path("etag"), "weights");
  WriteText(repo.snapshot_dir(kCommit), "a file, not a folder");
  std::string message = testing::ErrorOf<AssetDownloadError>(
      [&] { repo.LinkSnapshotFile(kCommit, "model.safetensors", "etag"); });
  EXPECT_EQ(message, "cannot download hg://org/name: cannot create the folder " +
                         repo.snapshot_dir(kCommit) + ": Not a directory");

  // The link's name is taken by a folder: the rename fails, no temporary
  // link is left behind.
  const HfCacheRepo other(FreshDir("link_onto_folder"), "org/name");
  WriteText(other.blob_path("etag"), "weights");
  const fs::path link = fs::path(other.snapshot_dir(kCommit)) / "model.safetensors";
  WriteText(link / "inside", "x");
  message = testing::ErrorOf<AssetDownloadError>(
      [&] { other.LinkSnapshotFile(kCommit, "model.safetensors", "etag"); });
  EXPECT_NE(message.find("cannot download hg://org/name: cannot rename " + link.string() + ".tmp."),
            std::string::npos)
      << message;
  EXPECT_NE(message.find(" to " + link.string() + ": "), std::string::npos) << message;
  int entries = 0;
  for (const auto& entry : fs::directory_iterator(other.snapshot_dir(kCommit))) {
    ++entries;
    EXPECT_EQ(entry.path().filename(), "model.safetensors");
  }
  EXPECT_EQ(entries, 1);
}

}  // namespace
}  // namespace modelhub
