#ifndef MODELHUB_RUNTIME_DOWNLOAD_ARCHIVE_EXTRACT_H_
#define MODELHUB_RUNTIME_DOWNLOAD_ARCHIVE_EXTRACT_H_

// Unpacks downloaded checkpoint archives (.tar, .tar.gz/.tgz, .tar.bz2,
// .tar.xz, .zip) with libarchive, writing only plain files and folders inside
// the destination.

#include <cstdint>
#include <string>
#include <vector>

namespace modelhub {

// True when the file name ends like an archive this module unpacks.
bool IsArchiveName(const std::string& file_name);

// A file the archive held, as written.
struct ExtractedFile {
  std::string path;  // relative to the destination, '/'-separated
  uint64_t size = 0;
  std::string sha256;
};

// Unpacks `archive` into the folder `destination` (created; must not exist)
// and returns the files written, each hashed while written. Throws
// AssetDownloadError naming `source`, the archive and the entry for an
// unreadable archive, an absolute entry path or one with "..", a symlink,
// hard link or device entry, or a write failure; the destination is removed
// then.
std::vector<ExtractedFile> ExtractArchive(const std::string& archive,
                                          const std::string& destination,
                                          const std::string& source);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_DOWNLOAD_ARCHIVE_EXTRACT_H_
