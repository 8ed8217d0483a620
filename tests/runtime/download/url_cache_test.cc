// The URL cache without a server: file names from URLs, entry folders, the
// cache folder's environment precedence, manifests (missing, damaged, complete
// entries served without a request), offline misses and a cache that cannot
// be written.

#include "runtime/download/url_cache.h"

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
using ::testing::StartsWith;

// A fresh folder for one test.
fs::path FreshDir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / "url_cache_test" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

TEST(UrlFileNameTest, LastPathSegment) {
  EXPECT_EQ(UrlFileName("https://h/a/model.tar?x=1#f"), "model.tar");
  EXPECT_EQ(UrlFileName("https://h/a/model.tar#f"), "model.tar");
  EXPECT_EQ(UrlFileName("https://host.example:8443/x/y/z/weights.safetensors"),
            "weights.safetensors");
  EXPECT_EQ(UrlFileName("http://h/model-v1_2.tar.gz"), "model-v1_2.tar.gz");
  // The query is not part of the name even when it holds a slash.
  EXPECT_EQ(UrlFileName("https://h/get/file.bin?path=/other/evil.tar"), "file.bin");
}

TEST(UrlFileNameTest, NoNameIsDownload) {
  EXPECT_EQ(UrlFileName("https://h"), "download");
  EXPECT_EQ(UrlFileName("https://h?x=/evil.tar"), "download");  // a query is not a path
  EXPECT_EQ(UrlFileName("https://h#/evil.tar"), "download");
  EXPECT_EQ(UrlFileName("https://h/"), "download");
  EXPECT_EQ(UrlFileName("https://h/a/"), "download");
  EXPECT_EQ(UrlFileName("https://h/?x=1"), "download");
  EXPECT_EQ(UrlFileName("https://h/a/.."), "download");
  EXPECT_EQ(UrlFileName("https://h/a/."), "download");
  EXPECT_EQ(UrlFileName(""), "download");
}

TEST(UrlFileNameTest, OddCharactersBecomeUnderscores) {
  EXPECT_EQ(UrlFileName("https://h/a%20b.bin"), "a_20b.bin");
  EXPECT_EQ(UrlFileName("https://h/my model (1).pt"), "my_model__1_.pt");
  EXPECT_EQ(UrlFileName("https://h/we:ights;v=2.bin"), "we_ights_v_2.bin");
  EXPECT_EQ(UrlFileName("https://h/caf\xc3\xa9.pt"), "caf__.pt");
  EXPECT_EQ(UrlFileName("https://h/a\\b.bin"), "a_b.bin");
}

TEST(UrlCacheEntryTest, StableAndDistinct) {
  const std::string a = UrlCacheEntry("/cache", "https://h/a/model.tar");
  EXPECT_EQ(a, UrlCacheEntry("/cache", "https://h/a/model.tar"));
  EXPECT_THAT(a, StartsWith("/cache/url/model.tar-"));
  // 16 hex digits of the URL's SHA-256 after the name.
  const std::string tag = a.substr(std::string("/cache/url/model.tar-").size());
  EXPECT_EQ(tag.size(), 16u);
  EXPECT_EQ(tag.find_first_not_of("0123456789abcdef"), std::string::npos) << tag;

  // Same file name, different URLs: different entries.
  EXPECT_NE(a, UrlCacheEntry("/cache", "https://h/b/model.tar"));
  EXPECT_NE(a, UrlCacheEntry("/cache", "https://h/a/model.tar?v=2"));
  EXPECT_NE(a, UrlCacheEntry("/cache", "http://h/a/model.tar"));
  EXPECT_EQ(fs::path(UrlCacheEntry("/other", "https://h/a/model.tar")).filename(),
            fs::path(a).filename());
  EXPECT_THAT(UrlCacheEntry("/cache", "https://h/"), StartsWith("/cache/url/download-"));
}

TEST(ModelhubCacheDirTest, EnvironmentPrecedence) {
  testing::ScopedEnv env;
  env.Set("MODELHUB_CACHE_DIR", "/mh");
  env.Set("XDG_CACHE_HOME", "/xdg");
  env.Set("HOME", "/home/someone");
  EXPECT_EQ(ModelhubCacheDir(), "/mh");
  env.Unset("MODELHUB_CACHE_DIR");
  EXPECT_EQ(ModelhubCacheDir(), "/xdg/modelhub");
  env.Set("XDG_CACHE_HOME", "");
  EXPECT_EQ(ModelhubCacheDir(), "/home/someone/.cache/modelhub");
  env.Unset("XDG_CACHE_HOME");
  EXPECT_EQ(ModelhubCacheDir(), "/home/someone/.cache/modelhub");
  env.Set("MODELHUB_CACHE_DIR", "");
  EXPECT_EQ(ModelhubCacheDir(), "/home/someone/.cache/modelhub");
}

TEST(ReadUrlManifestTest, MissingIsFalse) {
  const fs::path entry = FreshDir("missing");
  UrlManifest manifest;
  EXPECT_FALSE(ReadUrlManifest(entry.string(), manifest));
  EXPECT_FALSE(ReadUrlManifest((entry / "no_such_entry").string(), manifest));
}

TEST(ReadUrlManifestTest, ReadsAManifest) {
  const fs::path entry = FreshDir("complete");
  WriteText(entry / "manifest.json", R"({
    "url": "https://h/model.tar", "size": 4096, "sha256": "aa", "unpacked": true,
    "files": [{"path": "config.json", "size": 2, "sha256": "bb"},
              {"path": "sub/w.bin", "size": 8, "sha256": "cc"}]})");
  UrlManifest manifest;
  manifest.files.push_back({"stale", 1, "x"});  // replaced, not appended to
  ASSERT_TRUE(ReadUrlManifest(entry.string(), manifest));
  EXPECT_EQ(manifest.url, "https://h/model.tar");
  EXPECT_EQ(manifest.size, 4096u);
  EXPECT_EQ(manifest.sha256, "aa");
  EXPECT_TRUE(manifest.unpacked);
  ASSERT_EQ(manifest.files.size(), 2u);
  EXPECT_EQ(manifest.files[0].path, "config.json");
  EXPECT_EQ(manifest.files[0].size, 2u);
  EXPECT_EQ(manifest.files[0].sha256, "bb");
  EXPECT_EQ(manifest.files[1].path, "sub/w.bin");
}

TEST(ReadUrlManifestTest, DamagedManifestThrows) {
  const std::string kDamaged[] = {
      "",
      "{",
      "not json",
      "{}",
      R"({"url": "u", "size": "big", "sha256": "", "unpacked": false, "files": []})",
      R"({"url": "u", "size": 1, "sha256": "", "unpacked": false})",
      R"({"url": "u", "size": 1, "sha256": "", "unpacked": false, "files": [{"path": "a"}]})",
  };
  for (const std::string& text : kDamaged) {
    SCOPED_TRACE(text);
    const fs::path entry = FreshDir("damaged");
    WriteText(entry / "manifest.json", text);
    UrlManifest manifest;
    try {
      ReadUrlManifest(entry.string(), manifest);
      ADD_FAILURE() << "a damaged manifest was read";
    } catch (const AssetDownloadError& e) {
      EXPECT_EQ(e.uri(), (entry / "manifest.json").string());
      EXPECT_THAT(e.what(), HasSubstr("damaged"));
      EXPECT_THAT(e.what(), HasSubstr("cache rm"));
    }
  }
}

// FetchUrl against a URL nothing listens on: none of these may send a request.
class FetchUrlTest : public ::testing::Test {
 protected:
  static constexpr char kUrl[] = "http://127.0.0.1:1/x.tar";

  HttpClient http_;
  DownloadProgress progress_{ProgressStyle::kSilent, 0};
};

TEST_F(FetchUrlTest, OfflineWithoutEntryThrows) {
  UrlFetchOptions options;
  options.cache_dir = FreshDir("offline").string();
  options.offline = true;
  try {
    FetchUrl(kUrl, http_, options, progress_);
    FAIL() << "offline FetchUrl with an empty cache returned";
  } catch (const AssetDownloadError& e) {
    EXPECT_EQ(e.uri(), kUrl);
    EXPECT_THAT(e.what(), HasSubstr("offline"));
    EXPECT_THAT(e.what(), HasSubstr(UrlCacheEntry(options.cache_dir, kUrl)));
  }
  EXPECT_EQ(http_.bytes_received(), 0u);
  // Nothing was created for the entry.
  EXPECT_FALSE(fs::exists(UrlCacheEntry(options.cache_dir, kUrl)));
}

TEST_F(FetchUrlTest, OfflineWithIncompleteEntryThrows) {
  UrlFetchOptions options;
  options.cache_dir = FreshDir("incomplete").string();
  options.offline = true;
  const fs::path entry = UrlCacheEntry(options.cache_dir, kUrl);
  WriteText(entry / "download" / "x.tar.any.incomplete", "partial");
  EXPECT_THROW(FetchUrl(kUrl, http_, options, progress_), AssetDownloadError);
}

TEST_F(FetchUrlTest, CompleteUnpackedEntryServedWithoutRequest) {
  UrlFetchOptions options;
  options.cache_dir = FreshDir("unpacked").string();
  const fs::path entry = UrlCacheEntry(options.cache_dir, kUrl);
  WriteText(entry / "content" / "model.pt", "weights");
  WriteText(entry / "manifest.json",
            R"({"url": "http://127.0.0.1:1/x.tar", "size": 10240, "sha256": "aa",
                "unpacked": true, "files": [{"path": "model.pt", "size": 7, "sha256": "bb"}]})");
  for (bool offline : {false, true}) {
    options.offline = offline;
    const UrlFetchResult result = FetchUrl(kUrl, http_, options, progress_);
    EXPECT_TRUE(result.cached);
    // An unpacked archive is its folder, even with a single file.
    EXPECT_EQ(result.path, (entry / "content").string());
    EXPECT_EQ(result.download.requests, 0);
  }
  EXPECT_EQ(http_.bytes_received(), 0u);
}

TEST_F(FetchUrlTest, CompleteSingleFileEntryIsTheFile) {
  const std::string url = "http://127.0.0.1:1/dir/model.safetensors?token=1";
  UrlFetchOptions options;
  options.cache_dir = FreshDir("single").string();
  options.offline = true;
  const fs::path entry = UrlCacheEntry(options.cache_dir, url);
  WriteText(entry / "content" / "model.safetensors", "weights");
  WriteText(entry / "manifest.json",
            R"({"url": "u", "size": 7, "sha256": "bb", "unpacked": false,
                "files": [{"path": "model.safetensors", "size": 7, "sha256": "bb"}]})");
  const UrlFetchResult result = FetchUrl(url, http_, options, progress_);
  EXPECT_TRUE(result.cached);
  EXPECT_EQ(result.path, (entry / "content" / "model.safetensors").string());
}

// A cache folder under a regular file: modelhub's error naming the URL, the
// folder and why, before any request (it was a std::runtime_error from the
// lock, an "internal error" in the CLI).
TEST_F(FetchUrlTest, CacheUnderARegularFileIsAnAssetDownloadError) {
  const fs::path dir = FreshDir("cache_under_file");
  WriteText(dir / "file", "not a folder");
  UrlFetchOptions options;
  options.cache_dir = (dir / "file" / "cache").string();
  const std::string message =
      testing::ErrorOf<AssetDownloadError>([&] { FetchUrl(kUrl, http_, options, progress_); });
  EXPECT_EQ(message, std::string("cannot download ") + kUrl + ": cannot create the folder " +
                         UrlCacheEntry(options.cache_dir, kUrl) + " of the lock file " +
                         UrlCacheEntry(options.cache_dir, kUrl) + "/.lock: Not a directory");
  EXPECT_EQ(http_.bytes_received(), 0u);
}

TEST_F(FetchUrlTest, DamagedManifestIsAnErrorNotADownload) {
  UrlFetchOptions options;
  options.cache_dir = FreshDir("damaged_entry").string();
  const fs::path entry = UrlCacheEntry(options.cache_dir, kUrl);
  WriteText(entry / "manifest.json", "{ broken");
  try {
    FetchUrl(kUrl, http_, options, progress_);
    FAIL() << "a damaged entry was used";
  } catch (const AssetDownloadError& e) {
    EXPECT_THAT(e.what(), HasSubstr("damaged"));
  }
  EXPECT_EQ(http_.bytes_received(), 0u);
}

}  // namespace
}  // namespace modelhub
