#include "runtime/download/archive_extract.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/core/errors.h"
#include "runtime/download/sha256.h"

namespace modelhub {
namespace fs = std::filesystem;
namespace {

using ArchivePtr = std::unique_ptr<archive, int (*)(archive*)>;

// The entry's path made relative and checked: "" for the archive's root
// ("./"), an error message in `why` for a path that would leave the folder.
std::string SafeEntryPath(const std::string& raw, std::string* why) {
  if (raw.empty() || raw.front() == '/') {
    *why = "an absolute path";
    return "";
  }
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(raw, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      *why = "a path with '..'";
      return "";
    }
    parts.emplace_back(part);
  }
  std::string path;
  for (const std::string& part : parts) path += (path.empty() ? "" : "/") + part;
  return path;
}

}  // namespace

bool IsArchiveName(const std::string& file_name) {
  const std::string name = absl::AsciiStrToLower(file_name);
  for (const char* extension : {".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".zip"}) {
    if (absl::EndsWith(name, extension)) return true;
  }
  return false;
}

std::vector<ExtractedFile> ExtractArchive(const std::string& archive_path,
                                          const std::string& destination,
                                          const std::string& source) {
  std::vector<ExtractedFile> files;
  // Only a destination this call created is removed on failure.
  bool created = false;
  auto fail = [&](const std::string& what) {
    std::error_code error;
    if (created) fs::remove_all(destination, error);
    throw AssetDownloadError(source, absl::StrCat("cannot unpack ", archive_path, ": ", what));
  };
  ArchivePtr reader(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(reader.get());
  archive_read_support_format_tar(reader.get());
  archive_read_support_format_zip(reader.get());
  if (archive_read_open_filename(reader.get(), archive_path.c_str(), 1 << 20) != ARCHIVE_OK) {
    fail(archive_error_string(reader.get()));
  }
  std::error_code error;
  if (!fs::create_directory(destination, error)) {
    fail(absl::StrCat("cannot create ", destination, ": ",
                      error ? error.message() : "it exists already"));
  }
  created = true;
  std::vector<char> buffer(1 << 20);
  archive_entry* entry = nullptr;
  for (;;) {
    const int status = archive_read_next_header(reader.get(), &entry);
    if (status == ARCHIVE_EOF) break;
    if (status < ARCHIVE_WARN) fail(archive_error_string(reader.get()));
    const char* raw_name = archive_entry_pathname(entry);
    const std::string raw = raw_name == nullptr ? "" : raw_name;
    std::string why;
    const std::string relative = SafeEntryPath(raw, &why);
    if (!why.empty()) fail(absl::StrCat("entry '", raw, "' has ", why, "; refused"));
    const mode_t type = archive_entry_filetype(entry);
    if (type == AE_IFDIR) {
      fs::create_directories(fs::path(destination) / relative, error);
      continue;
    }
    if (type != AE_IFREG || archive_entry_hardlink(entry) != nullptr) {
      fail(absl::StrCat("entry '", raw,
                        "' is not a plain file or folder (a link or device); "
                        "refused"));
    }
    if (relative.empty()) fail(absl::StrCat("entry '", raw, "' has no file name"));
    const fs::path target = fs::path(destination) / relative;
    fs::create_directories(target.parent_path(), error);
    const int fd = ::open(target.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) fail(absl::StrCat("cannot create ", target.string(), ": ", std::strerror(errno)));
    ExtractedFile file;
    file.path = relative;
    Sha256 hash;
    for (;;) {
      const la_ssize_t got = archive_read_data(reader.get(), buffer.data(), buffer.size());
      if (got == 0) break;
      if (got < 0) {
        ::close(fd);
        fail(absl::StrCat("entry '", raw, "': ", archive_error_string(reader.get())));
      }
      hash.Update(buffer.data(), static_cast<size_t>(got));
      for (size_t done = 0; done < static_cast<size_t>(got);) {
        const ssize_t written = ::write(fd, buffer.data() + done, static_cast<size_t>(got) - done);
        if (written < 0 && errno == EINTR) continue;
        if (written <= 0) {
          ::close(fd);
          fail(absl::StrCat("cannot write ", target.string(), ": ", std::strerror(errno)));
        }
        done += static_cast<size_t>(written);
      }
      file.size += static_cast<uint64_t>(got);
    }
    if (::fsync(fd) != 0 || ::close(fd) != 0) {
      fail(absl::StrCat("cannot write ", target.string(), ": ", std::strerror(errno)));
    }
    file.sha256 = hash.HexDigest();
    files.push_back(std::move(file));
  }
  return files;
}

}  // namespace modelhub
