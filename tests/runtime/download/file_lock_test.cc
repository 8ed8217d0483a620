// FileLock: the lock file and its folders are made, a second holder waits
// (calling on_wait) until the first lets go, an uncontended lock does not
// call on_wait, and a lock that cannot be made is an AssetDownloadError.

#include "runtime/download/file_lock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "runtime/core/errors.h"
#include "tests/testing/error_of.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;

constexpr char kSource[] = "hg://org/name";

fs::path FreshDir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / "file_lock_test" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// Waits (at most a minute) until `flag` is set; true when it was.
bool WaitFor(const std::atomic<bool>& flag) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(1);
  while (!flag.load()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST(FileLockTest, CreatesTheLockFileAndItsFolders) {
  const fs::path path = FreshDir("create") / ".locks" / "models--org--name" / "etag.lock";
  {
    FileLock lock(path.string(), kSource);
    EXPECT_TRUE(fs::is_regular_file(path));
  }
  // Left in place after release, like huggingface_hub's.
  EXPECT_TRUE(fs::is_regular_file(path));
}

TEST(FileLockTest, UncontendedLockDoesNotWait) {
  const fs::path path = FreshDir("uncontended") / "a.lock";
  int waits = 0;
  {
    FileLock lock(path.string(), kSource, [&] { ++waits; });
  }
  // Released: taking it again does not wait either.
  {
    FileLock lock(path.string(), kSource, [&] { ++waits; });
  }
  EXPECT_EQ(waits, 0);
}

TEST(FileLockTest, SecondHolderWaitsForTheFirst) {
  const std::string path = (FreshDir("contended") / "b.lock").string();
  auto first = std::make_unique<FileLock>(path, kSource);

  std::atomic<bool> waiting{false};
  std::atomic<bool> acquired{false};
  std::atomic<int> waits{0};
  std::thread second([&] {
    FileLock lock(path, kSource, [&] {
      ++waits;
      waiting = true;
    });
    acquired = true;
  });

  // on_wait runs before the second thread blocks; while the first lock is
  // held the second cannot have it, however long this takes.
  ASSERT_TRUE(WaitFor(waiting)) << "the second FileLock never reported waiting";
  EXPECT_FALSE(acquired.load());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(acquired.load());

  first.reset();  // release
  second.join();
  EXPECT_TRUE(acquired.load());
  EXPECT_EQ(waits.load(), 1);
}

TEST(FileLockTest, DifferentPathsDoNotBlockEachOther) {
  const fs::path dir = FreshDir("independent");
  FileLock first((dir / "one.lock").string(), kSource);
  int waits = 0;
  FileLock second((dir / "two.lock").string(), kSource, [&] { ++waits; });
  EXPECT_EQ(waits, 0);
}

// A folder of the lock's path that is a regular file: modelhub's error naming
// the download, the folder, the lock file and why (it was a std::runtime_error).
TEST(FileLockTest, UncreatableFolderIsAnAssetDownloadError) {
  const fs::path dir = FreshDir("uncreatable");
  std::ofstream(dir / "plain_file") << "x";
  const std::string lock = (dir / "plain_file" / "sub" / "c.lock").string();
  const std::string message =
      testing::ErrorOf<AssetDownloadError>([&] { FileLock hold(lock, kSource); });
  EXPECT_EQ(message, "cannot download " + std::string(kSource) + ": cannot create the folder " +
                         (dir / "plain_file" / "sub").string() + " of the lock file " + lock +
                         ": Not a directory");
}

// The folder is there but the lock file cannot be made (its name is a folder).
TEST(FileLockTest, UncreatableLockFileIsAnAssetDownloadError) {
  const fs::path dir = FreshDir("lock_is_a_folder");
  fs::create_directories(dir / "c.lock");
  const std::string lock = (dir / "c.lock").string();
  const std::string message =
      testing::ErrorOf<AssetDownloadError>([&] { FileLock hold(lock, kSource); });
  EXPECT_EQ(message, "cannot download " + std::string(kSource) + ": cannot create the lock file " +
                         lock + ": Is a directory");
}

}  // namespace
}  // namespace modelhub
