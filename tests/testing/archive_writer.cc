#include "tests/testing/archive_writer.h"

#include <archive.h>
#include <archive_entry.h>

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace modelhub::testing {

void WriteArchive(const std::string& path, const std::string& format,
                  const std::vector<ArchiveEntry>& entries) {
  archive* writer = archive_write_new();
  if (format == "zip") {
    archive_write_set_format_zip(writer);
  } else {
    archive_write_set_format_pax_restricted(writer);
    if (format == "tar.gz") archive_write_add_filter_gzip(writer);
  }
  auto check = [&](int status) {
    if (status < ARCHIVE_WARN) {
      const std::string why = archive_error_string(writer);
      archive_write_free(writer);
      throw std::runtime_error("cannot write " + path + ": " + why);
    }
  };
  check(archive_write_open_filename(writer, path.c_str()));
  for (const ArchiveEntry& item : entries) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, item.path.c_str());
    archive_entry_set_perm(entry, 0644);
    switch (item.type) {
      case ArchiveEntry::Type::kFile:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_size(entry, static_cast<la_int64_t>(item.contents.size()));
        break;
      case ArchiveEntry::Type::kFolder:
        archive_entry_set_filetype(entry, AE_IFDIR);
        archive_entry_set_perm(entry, 0755);
        break;
      case ArchiveEntry::Type::kSymlink:
        archive_entry_set_filetype(entry, AE_IFLNK);
        archive_entry_set_symlink(entry, item.contents.c_str());
        break;
    }
    check(archive_write_header(writer, entry));
    if (item.type == ArchiveEntry::Type::kFile && !item.contents.empty()) {
      archive_write_data(writer, item.contents.data(), item.contents.size());
    }
    archive_entry_free(entry);
  }
  check(archive_write_close(writer));
  archive_write_free(writer);
}

std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

}  // namespace modelhub::testing
