// FileLock: the lock file and its folders are made, a second holder waits
// (calling on_wait) until the first lets go, and an uncontended lock does not
// call on_wait.

#include "runtime/download/file_lock.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

namespace modelhub {
namespace {

namespace fs = std::filesystem;

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
    FileLock lock(path.string());
    EXPECT_TRUE(fs::is_regular_file(path));
  }
  // Left in place after release, like huggingface_hub's.
  EXPECT_TRUE(fs::is_regular_file(path));
}

TEST(FileLockTest, UncontendedLockDoesNotWait) {
  const fs::path path = FreshDir("uncontended") / "a.lock";
  int waits = 0;
  {
    FileLock lock(path.string(), [&] { ++waits; });
  }
  // Released: taking it again does not wait either.
  {
    FileLock lock(path.string(), [&] { ++waits; });
  }
  EXPECT_EQ(waits, 0);
}

TEST(FileLockTest, SecondHolderWaitsForTheFirst) {
  const std::string path = (FreshDir("contended") / "b.lock").string();
  auto first = std::make_unique<FileLock>(path);

  std::atomic<bool> waiting{false};
  std::atomic<bool> acquired{false};
  std::atomic<int> waits{0};
  std::thread second([&] {
    FileLock lock(path, [&] {
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
  FileLock first((dir / "one.lock").string());
  int waits = 0;
  FileLock second((dir / "two.lock").string(), [&] { ++waits; });
  EXPECT_EQ(waits, 0);
}

TEST(FileLockTest, UncreatableLockFileThrows) {
  const fs::path dir = FreshDir("uncreatable");
  std::ofstream(dir / "plain_file") << "x";
  // A lock "inside" a regular file cannot be created.
  EXPECT_THROW(FileLock((dir / "plain_file" / "c.lock").string()), std::runtime_error);
}

}  // namespace
}  // namespace modelhub
