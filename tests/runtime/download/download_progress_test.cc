// Download progress: FormatBytes, the choice of style, and what the line style
// (and the silent one) print on stderr.

#include "runtime/download/download_progress.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

namespace modelhub {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(FormatBytesTest, Bytes) {
  EXPECT_EQ(FormatBytes(0), "0 B");
  EXPECT_EQ(FormatBytes(1), "1 B");
  EXPECT_EQ(FormatBytes(999), "999 B");
}

TEST(FormatBytesTest, SiUnitsWithThreeSignificantDigits) {
  EXPECT_EQ(FormatBytes(1000), "1.00 kB");
  EXPECT_EQ(FormatBytes(1234), "1.23 kB");
  EXPECT_EQ(FormatBytes(12345), "12.3 kB");
  EXPECT_EQ(FormatBytes(312000), "312 kB");
  EXPECT_EQ(FormatBytes(1234567), "1.23 MB");
  EXPECT_EQ(FormatBytes(1500000000), "1.50 GB");
  EXPECT_EQ(FormatBytes(15000000000ull), "15.0 GB");
  EXPECT_EQ(FormatBytes(2000000000000ull), "2.00 TB");
  EXPECT_EQ(FormatBytes(3000000000000000ull), "3.00 PB");
}

TEST(FormatBytesTest, RoundingUpKeepsThreeDigits) {
  // Values that round up to the next power of ten keep three significant
  // digits (not "10.00 kB") and move to the next unit at 1000.
  EXPECT_EQ(FormatBytes(9999), "10.0 kB");
  EXPECT_EQ(FormatBytes(99999), "100 kB");
  EXPECT_EQ(FormatBytes(999499), "999 kB");
  EXPECT_EQ(FormatBytes(999999), "1.00 MB");
  EXPECT_EQ(FormatBytes(999999999), "1.00 GB");
}

TEST(ChooseProgressStyleTest, Styles) {
  EXPECT_EQ(ChooseProgressStyle(false, false), ProgressStyle::kSilent);
  EXPECT_EQ(ChooseProgressStyle(false, true), ProgressStyle::kLines);
  EXPECT_EQ(ChooseProgressStyle(true, true), ProgressStyle::kLines);  // --quiet wins over bars
}

TEST(ChooseProgressStyleTest, NoBarsWithoutTerminal) {
  if (::isatty(STDERR_FILENO)) GTEST_SKIP() << "stderr is a terminal here";
  EXPECT_EQ(ChooseProgressStyle(true, false), ProgressStyle::kLines);
}

TEST(DownloadProgressTest, SilentPrintsNothing) {
  ::testing::internal::CaptureStderr();
  {
    DownloadProgress progress(ProgressStyle::kSilent, 100);
    progress.Waiting("a.bin");
    progress.StartFile("a.bin", 100, 0);
    progress.Advance(100);
    progress.FinishFile(100);
    progress.Cached("b.bin", 5);
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
}

TEST(DownloadProgressTest, LinesStyleReportsEachFile) {
  ::testing::internal::CaptureStderr();
  {
    DownloadProgress progress(ProgressStyle::kLines, 0);
    progress.AddToTotal(3000);
    progress.StartFile("model.safetensors", 2000, 500);
    progress.Advance(1000);
    progress.Advance(500);
    progress.FinishFile(1500);
    progress.Cached("config.json", 1234);
    progress.Waiting("tokenizer.json");
  }
  const std::string text = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(text, StartsWith("modelhub: downloaded model.safetensors (2.00 kB"));
  EXPECT_THAT(text, HasSubstr("resumed at 500 B"));
  EXPECT_THAT(text, HasSubstr("modelhub: config.json (1.23 kB) is in the cache\n"));
  EXPECT_THAT(text, HasSubstr("waiting for another process downloading tokenizer.json\n"));
  // Lines, never terminal control sequences.
  EXPECT_EQ(text.find('\033'), std::string::npos);
  EXPECT_EQ(text.find('\r'), std::string::npos);
}

TEST(DownloadProgressTest, RestartForgetsTheResumedPart) {
  ::testing::internal::CaptureStderr();
  {
    DownloadProgress progress(ProgressStyle::kLines, 0);
    progress.StartFile("w.bin", 1000, 400);
    progress.Restart();
    progress.Advance(1000);
    progress.FinishFile(1000);
  }
  const std::string text = ::testing::internal::GetCapturedStderr();
  EXPECT_THAT(text, HasSubstr("downloaded w.bin (1.00 kB"));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("resumed")));
}

}  // namespace
}  // namespace modelhub
