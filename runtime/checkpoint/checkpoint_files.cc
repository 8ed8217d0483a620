#include "runtime/checkpoint/checkpoint_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
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

bool IsPickle(const fs::path& path) {
  const std::string ext = path.extension().string();
  return ext == ".pt" || ext == ".pth" || ext == ".bin";
}

// The rank of Meta's per-rank file `name` ("consolidated.03.pth" -> 3), or -1.
int ConsolidatedRank(const std::string& name) {
  const std::string kPrefix = "consolidated.";
  if (!absl::StartsWith(name, kPrefix) || !absl::EndsWith(name, ".pth")) return -1;
  const std::string digits = name.substr(kPrefix.size(), name.size() - kPrefix.size() - 4);
  if (digits.empty() || digits.size() > 4 ||
      !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return -1;
  }
  return std::stoi(digits);
}

// Picks the checkpoint files of a folder without a safetensors checkpoint.
void FindPickleFiles(const fs::path& folder, CheckpointFiles& files) {
  if (fs::exists(folder / "pytorch_model.bin.index.json")) {
    ReadIndex(folder / "pytorch_model.bin.index.json", files);
    return;
  }
  if (fs::exists(folder / "pytorch_model.bin")) {
    files.tensor_files.push_back((folder / "pytorch_model.bin").string());
    return;
  }
  std::map<int, std::string> ranks;
  std::vector<std::string> pickles;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    const std::string name = entry.path().filename().string();
    if (const int rank = ConsolidatedRank(name); rank >= 0) {
      ranks[rank] = entry.path().string();
    } else if (IsPickle(entry.path()) && entry.is_regular_file()) {
      pickles.push_back(entry.path().string());
    }
  }
  if (!ranks.empty()) {
    int expected = 0;
    for (const auto& [rank, file] : ranks) {
      if (rank != expected) {
        throw CorruptModelCheckpointError(
            folder.string(),
            absl::StrCat("Meta's per-rank files must be numbered from consolidated.00.pth up "
                         "without gaps, but rank ",
                         expected, " is missing (the next file is ",
                         fs::path(file).filename().string(), ")"));
      }
      files.tensor_files.push_back(file);
      ++expected;
    }
    files.rank_sharded = files.tensor_files.size() > 1;
    return;
  }
  if (fs::exists(folder / "model.pt")) {
    files.tensor_files.push_back((folder / "model.pt").string());
    return;
  }
  std::sort(pickles.begin(), pickles.end());
  if (pickles.size() == 1) {
    files.tensor_files.push_back(pickles.front());
    return;
  }
  if (pickles.empty()) {
    throw CorruptModelCheckpointError(
        folder.string(), "the folder holds no checkpoint file (.safetensors, .pt, .pth or .bin)");
  }
  std::vector<std::string> names;
  for (const std::string& pickle : pickles) names.push_back(fs::path(pickle).filename().string());
  throw CorruptModelCheckpointError(
      folder.string(),
      absl::StrCat("the folder holds several PyTorch files (", absl::StrJoin(names, ", "),
                   ") and no index naming the checkpoint's; give the file"));
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
      for (const fs::directory_entry& entry : fs::directory_iterator(given)) {
        if (entry.path().extension() == ".safetensors") {
          files.tensor_files.push_back(entry.path().string());
        }
      }
      std::sort(files.tensor_files.begin(), files.tensor_files.end());
      if (files.tensor_files.empty()) FindPickleFiles(given, files);
    }
  } else {
    folder = given.parent_path();
    if (absl::EndsWith(given.filename().string(), ".index.json")) {
      ReadIndex(given, files);
    } else {
      files.tensor_files.push_back(path);  // read in the format its bytes show
    }
  }
  if (folder.empty()) folder = ".";
  if (fs::is_regular_file(folder / "config.json")) {
    files.config_json = (folder / "config.json").string();
  }
  return files;
}

}  // namespace modelhub
