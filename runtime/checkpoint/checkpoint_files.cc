#include "runtime/checkpoint/checkpoint_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// Reads a sharded checkpoint's index: the shards it names, sorted by name,
// and the weight map with absolute paths.
void ReadIndex(const fs::path& index, CheckpointFiles& files) {
  std::ifstream in(index, std::ios::binary);
  if (!in) throw CorruptModelCheckpointError(index.string(), "cannot read the index file");
  std::ostringstream text;
  text << in.rdbuf();
  Json root;
  try {
    root = Json::parse(text.str());
  } catch (const Json::parse_error& e) {
    throw CorruptModelCheckpointError(
        index.string(), absl::StrCat("invalid JSON at byte ", e.byte, ": ", std::string(e.what())));
  }
  auto map = root.is_object() ? root.find("weight_map") : root.end();
  if (map == root.end() || !map->is_object() || map->empty()) {
    throw CorruptModelCheckpointError(index.string(),
                                      "the index has no 'weight_map' object naming tensor files");
  }
  std::set<std::string> shards;
  for (auto it = map->begin(); it != map->end(); ++it) {
    if (!it->is_string()) {
      throw CorruptModelCheckpointError(
          index.string(), absl::StrCat("weight_map entry '", it.key(), "' is not a file name"));
    }
    const std::string shard = it->get<std::string>();
    if (shard.empty() || fs::path(shard).is_absolute() || shard.find("..") != std::string::npos) {
      throw CorruptModelCheckpointError(
          index.string(), absl::StrCat("weight_map entry '", it.key(), "' names '", shard,
                                       "', which is not a file beside the index"));
    }
    const std::string file = (index.parent_path() / shard).string();
    files.weight_map[it.key()] = file;
    shards.insert(file);
  }
  for (const std::string& shard : shards) {
    if (!fs::is_regular_file(shard)) {
      throw CorruptModelCheckpointError(
          index.string(), absl::StrCat("shard '", fs::path(shard).filename().string(),
                                       "' named by the index is missing (looked for ", shard, ")"));
    }
    files.tensor_files.push_back(shard);
  }
  files.index_file = index.string();
}

[[noreturn]] void ThrowUnsupported(const fs::path& path) {
  throw CorruptModelCheckpointError(
      path.string(),
      "PyTorch pickle checkpoints (.pt, .pth, .bin) are not read yet; modelhub "
      "reads safetensors files");
}

bool IsPickle(const fs::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".pt" || ext == ".pth" || ext == ".bin";
}

}  // namespace

CheckpointFiles FindCheckpointFiles(const std::string& path) {
  std::error_code error;
  const fs::path given(path);
  const fs::file_status status = fs::status(given, error);
  if (!fs::exists(status)) throw AssetNotFoundError(path);
  CheckpointFiles files;
  fs::path folder = given;
  if (fs::is_directory(status)) {
    const fs::path index = given / "model.safetensors.index.json";
    if (fs::exists(index)) {
      ReadIndex(index, files);
    } else if (fs::exists(given / "model.safetensors")) {
      files.tensor_files.push_back((given / "model.safetensors").string());
    } else if (fs::exists(given / "consolidated.safetensors")) {
      files.tensor_files.push_back((given / "consolidated.safetensors").string());
    } else {
      bool has_pickle = false;
      for (const fs::directory_entry& entry : fs::directory_iterator(given)) {
        if (entry.path().extension() == ".safetensors") {
          files.tensor_files.push_back(entry.path().string());
        }
        has_pickle = has_pickle || IsPickle(entry.path());
      }
      std::sort(files.tensor_files.begin(), files.tensor_files.end());
      if (files.tensor_files.empty()) {
        if (has_pickle) ThrowUnsupported(given);
        throw CorruptModelCheckpointError(path, "the folder holds no .safetensors file");
      }
    }
  } else {
    folder = given.parent_path();
    const std::string name = given.filename().string();
    if (absl::EndsWith(name, ".index.json")) {
      if (absl::EndsWith(name, ".bin.index.json")) ThrowUnsupported(given);
      ReadIndex(given, files);
    } else if (IsPickle(given)) {
      ThrowUnsupported(given);
    } else {
      files.tensor_files.push_back(path);  // read as safetensors, whatever its name
    }
  }
  if (folder.empty()) folder = ".";
  if (fs::is_regular_file(folder / "config.json")) {
    files.config_json = (folder / "config.json").string();
  }
  return files;
}

}  // namespace modelhub
