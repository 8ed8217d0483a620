// ExtractArchive: tar, tar.gz and zip unpacked with sizes and hashes; entries
// that would leave the destination or are not plain files or folders refused;
// damaged archives and an existing destination; IsArchiveName.

#include "runtime/download/archive_extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/core/errors.h"
#include "runtime/download/sha256.h"
#include "tests/testing/archive_writer.h"
#include "tests/testing/error_of.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;
using ::modelhub::testing::ArchiveEntry;
using ::modelhub::testing::ReadFileBytes;
using ::modelhub::testing::WriteArchive;
using ::testing::HasSubstr;

std::string HashOf(const std::string& bytes) {
  Sha256 hash;
  hash.Update(bytes.data(), bytes.size());
  return hash.HexDigest();
}

// A fresh folder for one test's archive and destination.
fs::path FreshDir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / "archive_extract_test" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string CurrentTestName() {
  std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  return name;
}

// A file larger than libarchive's and ExtractArchive's 1 MiB buffers, with
// every byte value.
std::string BigContents() {
  std::string bytes(3 * (1 << 20) / 2 + 17, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 131 + i / 7) % 256);
  return bytes;
}

// Writes a tar holding "ok.txt" and then one entry of `type` named "bad" (a
// hard link to ok.txt when `hardlink`), which WriteArchive cannot make.
void WriteTarWithSpecialEntry(const std::string& path, mode_t type, bool hardlink) {
  archive* writer = archive_write_new();
  archive_write_set_format_pax_restricted(writer);
  ASSERT_EQ(archive_write_open_filename(writer, path.c_str()), ARCHIVE_OK);
  archive_entry* entry = archive_entry_new();
  archive_entry_set_pathname(entry, "ok.txt");
  archive_entry_set_filetype(entry, AE_IFREG);
  archive_entry_set_perm(entry, 0644);
  archive_entry_set_size(entry, 2);
  ASSERT_EQ(archive_write_header(writer, entry), ARCHIVE_OK);
  ASSERT_EQ(archive_write_data(writer, "ok", 2), 2);
  archive_entry_clear(entry);
  archive_entry_set_pathname(entry, "bad");
  archive_entry_set_filetype(entry, type);
  archive_entry_set_perm(entry, 0644);
  if (hardlink) archive_entry_set_hardlink(entry, "ok.txt");
  archive_entry_set_size(entry, 0);
  ASSERT_EQ(archive_write_header(writer, entry), ARCHIVE_OK);
  archive_entry_free(entry);
  ASSERT_EQ(archive_write_close(writer), ARCHIVE_OK);
  archive_write_free(writer);
}

// Runs ExtractArchive expecting an AssetDownloadError naming the source;
// returns its message (a test failure when there is none).
std::string ExtractError(const std::string& archive, const std::string& destination) {
  SCOPED_TRACE("unpacking " + archive);
  return testing::ErrorOf<AssetDownloadError>([&] {
    try {
      ExtractArchive(archive, destination, "https://example.test/model.tar");
    } catch (const AssetDownloadError& e) {
      EXPECT_EQ(e.uri(), "https://example.test/model.tar");
      throw;
    }
  });
}

TEST(IsArchiveNameTest, Extensions) {
  for (const char* name :
       {"model.tar", "model.tar.gz", "model.tgz", "model.tar.bz2", "model.tar.xz", "model.zip",
        "a.b.c.tar", ".tar", "MODEL.TAR.GZ", "Model.Zip"}) {
    EXPECT_TRUE(IsArchiveName(name)) << name;
  }
  for (const char* name :
       {"model.safetensors", "model.bin", "model.pt", "model.gz", "model.xz",
        "model.tar.gz.incomplete", "tar", "model_tar", "model.tarx", "zip", "download", ""}) {
    EXPECT_FALSE(IsArchiveName(name)) << name;
  }
}

class ExtractFormatTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ExtractFormatTest, UnpacksFilesWithSizesAndHashes) {
  const fs::path dir = FreshDir("formats_" + CurrentTestName());
  const std::string archive = (dir / ("model." + GetParam())).string();
  const std::string big = BigContents();
  WriteArchive(archive, GetParam(),
               {{"config.json", "{\"dim\": 8}"},
                {"sub", "", ArchiveEntry::Type::kFolder},
                {"sub/weights.bin", big},
                {"./dot/./empty.txt", ""},
                {"deep/er/file.txt", "deep"}});
  const fs::path destination = dir / "out";

  const std::vector<ExtractedFile> files =
      ExtractArchive(archive, destination.string(), "https://example.test/model");

  ASSERT_EQ(files.size(), 4u);
  EXPECT_EQ(files[0].path, "config.json");
  EXPECT_EQ(files[0].size, 10u);
  EXPECT_EQ(files[0].sha256, HashOf("{\"dim\": 8}"));
  EXPECT_EQ(files[1].path, "sub/weights.bin");
  EXPECT_EQ(files[1].size, big.size());
  EXPECT_EQ(files[1].sha256, HashOf(big));
  EXPECT_EQ(files[2].path, "dot/empty.txt");  // "./" parts dropped
  EXPECT_EQ(files[2].size, 0u);
  EXPECT_EQ(files[2].sha256, HashOf(""));
  EXPECT_EQ(files[3].path, "deep/er/file.txt");  // folders made without entries
  EXPECT_EQ(files[3].sha256, HashOf("deep"));

  for (const ExtractedFile& file : files) {
    const fs::path written = destination / file.path;
    ASSERT_TRUE(fs::is_regular_file(fs::symlink_status(written))) << written;
    EXPECT_EQ(fs::file_size(written), file.size) << written;
    EXPECT_EQ(Sha256OfFile(written.string()), file.sha256) << written;
  }
  EXPECT_EQ(ReadFileBytes((destination / "sub" / "weights.bin").string()), big);
  EXPECT_EQ(ReadFileBytes((destination / "config.json").string()), "{\"dim\": 8}");
  EXPECT_TRUE(fs::is_directory(destination / "sub"));
}

TEST_P(ExtractFormatTest, EmptyArchive) {
  const fs::path dir = FreshDir("empty_" + CurrentTestName());
  const std::string archive = (dir / ("empty." + GetParam())).string();
  WriteArchive(archive, GetParam(), {{"only_a_folder", "", ArchiveEntry::Type::kFolder}});
  const std::vector<ExtractedFile> files =
      ExtractArchive(archive, (dir / "out").string(), "source");
  EXPECT_TRUE(files.empty());
  EXPECT_TRUE(fs::is_directory(dir / "out" / "only_a_folder"));
}

TEST_P(ExtractFormatTest, RefusesEscapingPaths) {
  for (const std::string bad : {"../x", "/abs", "a/../../x", "sub/../x", ".."}) {
    SCOPED_TRACE(bad);
    const fs::path dir = FreshDir("escape_" + CurrentTestName());
    const std::string archive = (dir / ("evil." + GetParam())).string();
    // A good file first, so the destination has something to remove.
    WriteArchive(archive, GetParam(), {{"good.txt", "good"}, {bad, "evil"}});
    const fs::path destination = dir / "out";
    const std::string message = ExtractError(archive, destination.string());
    EXPECT_THAT(message, HasSubstr("refused"));
    EXPECT_THAT(message, HasSubstr(archive));
    EXPECT_FALSE(fs::exists(destination));
    EXPECT_FALSE(fs::exists(dir / "x"));
    EXPECT_FALSE(fs::exists(dir.parent_path() / "x"));
  }
}

TEST_P(ExtractFormatTest, RefusesSymlinks) {
  const fs::path dir = FreshDir("symlink_" + CurrentTestName());
  const std::string archive = (dir / ("link." + GetParam())).string();
  WriteArchive(archive, GetParam(),
               {{"good.txt", "good"}, {"link", "/etc/passwd", ArchiveEntry::Type::kSymlink}});
  const fs::path destination = dir / "out";
  const std::string message = ExtractError(archive, destination.string());
  EXPECT_THAT(message, HasSubstr("refused"));
  EXPECT_THAT(message, HasSubstr("'link'"));
  EXPECT_FALSE(fs::exists(destination));
}

TEST_P(ExtractFormatTest, RefusesRelativeSymlinkInsideTheFolder) {
  const fs::path dir = FreshDir("inner_symlink_" + CurrentTestName());
  const std::string archive = (dir / ("link." + GetParam())).string();
  WriteArchive(archive, GetParam(),
               {{"good.txt", "good"}, {"alias.txt", "good.txt", ArchiveEntry::Type::kSymlink}});
  EXPECT_THAT(ExtractError(archive, (dir / "out").string()), HasSubstr("refused"));
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST_P(ExtractFormatTest, DuplicateFileIsAnError) {
  const fs::path dir = FreshDir("duplicate_" + CurrentTestName());
  const std::string archive = (dir / ("dup." + GetParam())).string();
  WriteArchive(archive, GetParam(), {{"a.txt", "first"}, {"a.txt", "second"}});
  EXPECT_THAT(ExtractError(archive, (dir / "out").string()), HasSubstr("a.txt"));
  EXPECT_FALSE(fs::exists(dir / "out"));
}

TEST_P(ExtractFormatTest, ExistingDestinationThrowsAndIsKept) {
  const fs::path dir = FreshDir("existing_" + CurrentTestName());
  const std::string archive = (dir / ("model." + GetParam())).string();
  WriteArchive(archive, GetParam(), {{"config.json", "{}"}});
  const fs::path destination = dir / "out";
  fs::create_directories(destination);
  std::ofstream(destination / "mine.txt") << "not the archive's";

  const std::string message = ExtractError(archive, destination.string());
  EXPECT_THAT(message, HasSubstr(destination.string()));
  // Not ExtractArchive's folder: what was there stays.
  EXPECT_EQ(ReadFileBytes((destination / "mine.txt").string()), "not the archive's");
  EXPECT_FALSE(fs::exists(destination / "config.json"));
}

TEST_P(ExtractFormatTest, TruncatedArchiveThrows) {
  const fs::path dir = FreshDir("truncated_" + CurrentTestName());
  const std::string archive = (dir / ("model." + GetParam())).string();
  WriteArchive(archive, GetParam(), {{"a.txt", "a"}, {"weights.bin", BigContents()}});
  fs::resize_file(archive, fs::file_size(archive) / 2);
  const fs::path destination = dir / "out";
  EXPECT_THAT(ExtractError(archive, destination.string()), HasSubstr(archive));
  EXPECT_FALSE(fs::exists(destination));
}

INSTANTIATE_TEST_SUITE_P(Formats, ExtractFormatTest, ::testing::Values("tar", "tar.gz", "zip"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param == "tar.gz" ? std::string("tar_gz") : info.param;
                         });

TEST(ExtractArchiveTest, RefusesHardLinks) {
  const fs::path dir = FreshDir("hardlink");
  const std::string archive = (dir / "hard.tar").string();
  WriteTarWithSpecialEntry(archive, AE_IFREG, /*hardlink=*/true);
  const fs::path destination = dir / "out";
  const std::string message = ExtractError(archive, destination.string());
  EXPECT_THAT(message, HasSubstr("refused"));
  EXPECT_THAT(message, HasSubstr("'bad'"));
  EXPECT_FALSE(fs::exists(destination));
}

TEST(ExtractArchiveTest, RefusesDevicesAndFifos) {
  for (const mode_t type : {AE_IFCHR, AE_IFBLK, AE_IFIFO}) {
    SCOPED_TRACE(type);
    const fs::path dir = FreshDir("device");
    const std::string archive = (dir / "device.tar").string();
    WriteTarWithSpecialEntry(archive, type, /*hardlink=*/false);
    const fs::path destination = dir / "out";
    EXPECT_THAT(ExtractError(archive, destination.string()), HasSubstr("refused"));
    EXPECT_FALSE(fs::exists(destination));
  }
}

TEST(ExtractArchiveTest, GarbageThrows) {
  const fs::path dir = FreshDir("garbage");
  const std::string archive = (dir / "garbage.tar").string();
  std::string bytes;
  for (int i = 0; i < 5000; ++i) bytes += static_cast<char>(i * 37 % 251 + 1);
  std::ofstream(archive, std::ios::binary) << bytes;
  const fs::path destination = dir / "out";
  EXPECT_THAT(ExtractError(archive, destination.string()), HasSubstr(archive));
  EXPECT_FALSE(fs::exists(destination));
}

TEST(ExtractArchiveTest, GzipOfGarbageThrows) {
  const fs::path dir = FreshDir("gzip_garbage");
  // A valid gzip header followed by a damaged deflate stream.
  const std::string archive = (dir / "model.tar.gz").string();
  WriteArchive(archive, "tar.gz", {{"weights.bin", BigContents()}});
  std::string bytes = ReadFileBytes(archive);
  for (size_t i = 20; i < bytes.size(); i += 3) bytes[i] = static_cast<char>(~bytes[i]);
  std::ofstream(archive, std::ios::binary | std::ios::trunc) << bytes;
  const fs::path destination = dir / "out";
  ExtractError(archive, destination.string());
  EXPECT_FALSE(fs::exists(destination));
}

TEST(ExtractArchiveTest, MissingArchiveThrows) {
  const fs::path dir = FreshDir("missing");
  const fs::path destination = dir / "out";
  EXPECT_THAT(ExtractError((dir / "nothing.tar").string(), destination.string()),
              HasSubstr("nothing.tar"));
  EXPECT_FALSE(fs::exists(destination));
}

TEST(ExtractArchiveTest, UnreadableArchiveLeavesExistingDestination) {
  const fs::path dir = FreshDir("unreadable_existing");
  const fs::path destination = dir / "out";
  fs::create_directories(destination);
  std::ofstream(destination / "mine.txt") << "mine";
  ExtractError((dir / "nothing.tar").string(), destination.string());
  EXPECT_EQ(ReadFileBytes((destination / "mine.txt").string()), "mine");
}

}  // namespace
}  // namespace modelhub
