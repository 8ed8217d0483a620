#include "runtime/hub/state_dict_url.h"

#include <c10/util/Exception.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"
#include "runtime/download/archive_extract.h"
#include "runtime/download/torch_hub_files.h"
#include "runtime/download/url_cache.h"
#include "runtime/formats/checkpoint_reader.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;

// Whether the file at `path` starts like a zip archive.
bool StartsLikeZip(const std::string& path) {
  char magic[4] = {};
  std::ifstream in(path, std::ios::binary);
  in.read(magic, sizeof(magic));
  return in.gcount() == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
}

// Unpacks torch.hub's legacy zip format at `path` (a zip holding exactly one
// file) into `model_dir`, as torch.hub does, and returns that file. Throws
// AssetDownloadError naming the archive when it holds another number of files.
std::string UnpackLegacyZip(const std::string& path, const std::string& model_dir,
                            const std::string& url) {
  const fs::path staging = fs::path(model_dir) / (fs::path(path).filename().string() + ".unzip");
  std::error_code error;
  fs::remove_all(staging, error);
  const std::vector<ExtractedFile> files = ExtractArchive(path, staging.string(), url);
  if (files.size() != 1) {
    fs::remove_all(staging, error);
    throw AssetDownloadError(url,
                             absl::StrCat(path, " is a zip of ", files.size(),
                                          " files; torch.hub's zip checkpoints hold exactly one"));
  }
  const fs::path inner = fs::path(model_dir) / files.front().path;
  fs::create_directories(inner.parent_path(), error);
  fs::rename(staging / files.front().path, inner, error);
  const std::error_code moved = error;
  fs::remove_all(staging, error);
  if (moved) {
    throw AssetDownloadError(url, absl::StrCat("cannot move the file of ", path, " to ",
                                               inner.string(), ": ", moved.message()));
  }
  return inner.string();
}

// The checkpoint file at `path`, opened (indexes only): a safetensors,
// torch.save or legacy pickle file in place, or the one file of a legacy zip
// unpacked into `model_dir` (a zip torch.save did not write: no data.pkl
// record).
TensorFile OpenReadable(const std::string& path, const std::string& model_dir,
                        const std::string& url) {
  try {
    return OpenCheckpointFile(path, ReadStrategy::kPread);
  } catch (const CorruptModelCheckpointError&) {
    if (!StartsLikeZip(path)) throw;
  }
  return OpenCheckpointFile(UnpackLegacyZip(path, model_dir, url), ReadStrategy::kPread);
}

}  // namespace

std::string StateDictCachePath(const std::string& url, const LoadStateDictOptions& options) {
  const std::string dir = options.model_dir.empty()
                              ? (fs::path(GetHubDir()) / "checkpoints").string()
                              : options.model_dir;
  const std::string name = options.file_name.empty() ? UrlFileName(url) : options.file_name;
  return (fs::path(dir) / name).string();
}

namespace {

// The file of `url` at StateDictCachePath, downloaded when absent, opened.
TensorFile OpenStateDictFile(const std::string& url, const LoadStateDictOptions& options) {
  const std::string cached = StateDictCachePath(url, options);
  const std::string model_dir = fs::path(cached).parent_path().string();
  std::error_code error;
  if (!fs::exists(cached, error)) {
    DownloadUrlOptions download;
    download.progress = options.progress;
    if (options.check_hash) {
      const std::string name = fs::path(cached).filename().string();
      std::optional<std::string> prefix = HashPrefixOfFileName(name);
      if (!prefix) {
        throw AssetDownloadError(
            url, absl::StrCat("check_hash: the file name '", name,
                              "' carries no hash prefix (\"<name>-<8 or more hex digits>.<ext>\", "
                              "as in resnet18-f37072fd.pth) to check"));
      }
      download.hash_prefix = *prefix;
    }
    DownloadUrlToFile(url, cached, download);
  }
  return OpenReadable(cached, model_dir, url);
}

}  // namespace

std::string FetchStateDictFile(const std::string& url, const LoadStateDictOptions& options) {
  return OpenStateDictFile(url, options).path();
}

std::map<std::string, at::Tensor> LoadStateDictFromUrl(const std::string& url,
                                                       const LoadStateDictOptions& options) {
  std::map<std::string, at::Tensor> state;
  const TensorFile file = OpenStateDictFile(url, options);
  try {
    for (const TensorEntry& entry : file.entries()) {
      state[entry.name] = file.Read(entry).to(options.map_location);
    }
  } catch (const c10::Error& e) {
    throw TorchError(absl::StrCat("reading ", file.path(), " onto ", options.map_location.str()),
                     e.what_without_backtrace());
  }
  return state;
}

}  // namespace modelhub
