// torch.hub's file surface against a loopback file server: hub folders,
// download_url_to_file with a hash prefix (right, wrong: nothing left at the
// destination, resumed after a dropped connection), load_state_dict_from_url
// at torch.hub's cache path (read without a request once there, also when
// Python put it there), check_hash from the file name, torch.hub's legacy zips.
#include "runtime/hub/state_dict_url.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/core/errors.h"
#include "runtime/download/sha256.h"
#include "runtime/download/torch_hub_files.h"
#include "runtime/formats/safetensors.h"
#include "tests/runtime/download/scoped_env.h"
#include "tests/testing/archive_writer.h"
#include "tests/testing/error_of.h"
#include "tests/testing/fake_hub.h"
#include "tests/testing/tiny_model.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;
using testing::ErrorOf;
using testing::FakeHub;

// A file server with weights.safetensors (two tensors), the same bytes under
// a name carrying their hash prefix and under one carrying a wrong one, and a
// legacy zip holding the file alone.
class TorchHubTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::FreshDir("torch_hub");
    fs::create_directories(root_ / "files");
    WriteSafetensors(
        (root_ / "files" / "weights.safetensors").string(),
        {{"fc.weight", at::arange(6, at::kFloat).reshape({2, 3})}, {"fc.bias", at::ones({2})}});
    bytes_ = testing::ReadFileBytes((root_ / "files" / "weights.safetensors").string());
    sha256_ = Sha256OfText(bytes_);
    good_name_ = "weights-" + sha256_.substr(0, 10) + ".safetensors";
    fs::copy_file(root_ / "files" / "weights.safetensors", root_ / "files" / good_name_);
    fs::copy_file(root_ / "files" / "weights.safetensors",
                  root_ / "files" / "weights-0123abcd.safetensors");
    testing::WriteArchive((root_ / "files" / "legacy.zip").string(), "zip",
                          {{"inner.safetensors", bytes_}});
    env_.Set("TORCH_HOME", (root_ / "torch").string());
    SetHubDir("");
    hub_ = std::make_unique<FakeHub>(FakeHub::Options{"", (root_ / "files").string(), ""});
  }
  void TearDown() override { SetHubDir(""); }

  static DownloadUrlOptions Quiet(const std::string& prefix = "") {
    DownloadUrlOptions options;
    options.hash_prefix = prefix;
    options.progress = false;
    options.retry.first_delay = std::chrono::milliseconds(1);
    return options;
  }

  fs::path root_;
  std::string bytes_;
  std::string sha256_;
  std::string good_name_;
  testing::ScopedEnv env_;
  std::unique_ptr<FakeHub> hub_;
};

TEST(TorchHubDirTest, FollowsTorchHomeThenXdgThenHome) {
  testing::ScopedEnv env;
  SetHubDir("");
  env.Set("TORCH_HOME", "/opt/torch");
  EXPECT_EQ(GetHubDir(), "/opt/torch/hub");
  env.Unset("TORCH_HOME");
  env.Set("XDG_CACHE_HOME", "/xdg");
  EXPECT_EQ(GetHubDir(), "/xdg/torch/hub");
  env.Unset("XDG_CACHE_HOME");
  env.Set("HOME", "/home/u");
  EXPECT_EQ(GetHubDir(), "/home/u/.cache/torch/hub");
  SetHubDir("~/hubs");
  EXPECT_EQ(GetHubDir(), "/home/u/hubs");
  SetHubDir("");
  EXPECT_EQ(GetHubDir(), "/home/u/.cache/torch/hub");
}

TEST(TorchHubDirTest, HashPrefixesAreReadAsTorchHubReadsThem) {
  EXPECT_EQ(HashPrefixOfFileName("resnet18-f37072fd.pth"), "f37072fd");
  // The first "-<hex>.": "-b-" is not one.
  EXPECT_EQ(HashPrefixOfFileName("a-b-0123456789abcdef.pt"), "0123456789abcdef");
  EXPECT_EQ(HashPrefixOfFileName("vgg16-397923af.tar.gz"), "397923af");
  EXPECT_FALSE(HashPrefixOfFileName("model.pth").has_value());
  EXPECT_FALSE(HashPrefixOfFileName("model-abc.pth").has_value());       // under 8 digits
  EXPECT_FALSE(HashPrefixOfFileName("model-F37072FD.pth").has_value());  // torch: lowercase
  EXPECT_FALSE(HashPrefixOfFileName("model-f37072fd").has_value());      // no "."
}

TEST_F(TorchHubTest, DownloadUrlToFileChecksTheHashPrefix) {
  const fs::path dst = root_ / "out" / "w.safetensors";
  EXPECT_EQ(DownloadUrlToFile(hub_->file_url("weights.safetensors"), dst.string(),
                              Quiet(sha256_.substr(0, 8))),
            sha256_);
  EXPECT_EQ(testing::ReadFileBytes(dst.string()), bytes_);

  // A wrong prefix: the error names it and the digest; nothing is left.
  const fs::path other = root_ / "out" / "x.safetensors";
  const std::string message = ErrorOf<AssetDownloadError>([&] {
    DownloadUrlToFile(hub_->file_url("weights.safetensors"), other.string(), Quiet("0123abcd"));
  });
  EXPECT_NE(message.find("expected a hash starting with 0123abcd"), std::string::npos) << message;
  EXPECT_NE(message.find(sha256_), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(other));
  // An existing destination is left as it was.
  std::ofstream(other) << "old";
  EXPECT_THROW(
      DownloadUrlToFile(hub_->file_url("weights.safetensors"), other.string(), Quiet("0123abcd")),
      AssetDownloadError);
  EXPECT_EQ(testing::ReadFileBytes(other.string()), "old");
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(root_ / "out")) {
    names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"w.safetensors", "x.safetensors"}));
}

TEST_F(TorchHubTest, DownloadUrlToFileResumesAfterADroppedConnection) {
  hub_->SetFaults(R"([{"match": "weights.safetensors", "method": "GET", "kind": "drop",
                       "after_bytes": 40, "times": 1}])");
  const fs::path dst = root_ / "resumed.safetensors";
  EXPECT_EQ(DownloadUrlToFile(hub_->file_url("weights.safetensors"), dst.string(), Quiet()),
            sha256_);
  EXPECT_EQ(testing::ReadFileBytes(dst.string()), bytes_);
  std::vector<std::string> ranges;
  for (const FakeHub::Request& request : hub_->Requests()) {
    if (request.method == "GET") ranges.push_back(request.range);
  }
  EXPECT_EQ(ranges, (std::vector<std::string>{"", "bytes=40-"}));
}

TEST_F(TorchHubTest, StateDictsLoadFromTorchHubsCachePathAndThenWithoutARequest) {
  LoadStateDictOptions options;
  options.progress = false;
  options.check_hash = true;
  const std::string url = hub_->file_url(good_name_);
  const std::string expected_path = (root_ / "torch" / "hub" / "checkpoints" / good_name_).string();
  EXPECT_EQ(StateDictCachePath(url, options), expected_path);
  std::map<std::string, at::Tensor> state = LoadStateDictFromUrl(url, options);
  ASSERT_EQ(state.size(), 2u);
  EXPECT_TRUE(at::equal(state.at("fc.weight"), at::arange(6, at::kFloat).reshape({2, 3})));
  EXPECT_TRUE(fs::exists(expected_path));

  hub_->ClearRequests();
  state = LoadStateDictFromUrl(url, options);
  EXPECT_EQ(state.size(), 2u);
  EXPECT_TRUE(hub_->Requests().empty());

  // A file Python's torch.hub put there (same path rule) is read as it is,
  // whatever the server would answer.
  const fs::path python = root_ / "torch" / "hub" / "checkpoints" / "from_python.safetensors";
  fs::copy_file(root_ / "files" / "weights.safetensors", python);
  options.check_hash = false;
  state = LoadStateDictFromUrl(hub_->file_url("missing/from_python.safetensors"), options);
  EXPECT_EQ(state.size(), 2u);
  EXPECT_TRUE(hub_->Requests().empty());
}

TEST_F(TorchHubTest, CheckHashRefusesAWrongOrMissingPrefixAndLeavesNothing) {
  LoadStateDictOptions options;
  options.progress = false;
  options.check_hash = true;
  options.model_dir = (root_ / "models").string();
  const std::string wrong = ErrorOf<AssetDownloadError>(
      [&] { LoadStateDictFromUrl(hub_->file_url("weights-0123abcd.safetensors"), options); });
  EXPECT_NE(wrong.find("0123abcd"), std::string::npos) << wrong;
  EXPECT_FALSE(fs::exists(root_ / "models" / "weights-0123abcd.safetensors"));
  const std::string missing = ErrorOf<AssetDownloadError>(
      [&] { LoadStateDictFromUrl(hub_->file_url("weights.safetensors"), options); });
  EXPECT_NE(missing.find("carries no hash prefix"), std::string::npos) << missing;
  // Without check_hash the same name loads, into the given folder, under file_name.
  options.check_hash = false;
  options.file_name = "renamed.safetensors";
  EXPECT_EQ(LoadStateDictFromUrl(hub_->file_url("weights.safetensors"), options).size(), 2u);
  EXPECT_TRUE(fs::exists(root_ / "models" / "renamed.safetensors"));
}

TEST_F(TorchHubTest, LegacyZipsAreUnpackedIntoTheModelDir) {
  LoadStateDictOptions options;
  options.progress = false;
  options.model_dir = (root_ / "zips").string();
  const std::map<std::string, at::Tensor> state =
      LoadStateDictFromUrl(hub_->file_url("legacy.zip"), options);
  EXPECT_EQ(state.size(), 2u);
  EXPECT_TRUE(at::equal(state.at("fc.bias"), at::ones({2})));
  EXPECT_EQ(testing::ReadFileBytes((root_ / "zips" / "inner.safetensors").string()), bytes_);
}

}  // namespace
}  // namespace modelhub
