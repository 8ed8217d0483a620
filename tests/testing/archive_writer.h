#ifndef MODELHUB_TESTS_TESTING_ARCHIVE_WRITER_H_
#define MODELHUB_TESTS_TESTING_ARCHIVE_WRITER_H_

// Writes tar, tar.gz and zip files for download tests, with libarchive,
// including entries no honest archive has (paths with "..", links).

#include <string>
#include <vector>

namespace modelhub::testing {

// One archive entry.
struct ArchiveEntry {
  enum class Type { kFile, kFolder, kSymlink };
  std::string path;      // as stored, unchecked
  std::string contents;  // a file's bytes, or a symlink's target
  Type type = Type::kFile;
};

// Writes `entries` to `path` as "tar", "tar.gz" or "zip" (`format`). Throws
// std::runtime_error when libarchive fails.
void WriteArchive(const std::string& path, const std::string& format,
                  const std::vector<ArchiveEntry>& entries);

// The bytes of the file at `path`.
std::string ReadFileBytes(const std::string& path);

}  // namespace modelhub::testing

#endif  // MODELHUB_TESTS_TESTING_ARCHIVE_WRITER_H_
