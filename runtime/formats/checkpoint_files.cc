#include "runtime/formats/checkpoint_files.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/core/errors.h"
#include "runtime/formats/checkpoint_json.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// Index files are a few hundred KiB; larger ones are refused unread.
constexpr uintmax_t kMaxIndexSize = uintmax_t{64} << 20;
// Names longer than this are shortened in messages.
constexpr size_t kMaxShownName = 120;

// `name`, or its start and its length when it is too long to show whole.
std::string Shown(const std::string& name) {
  if (name.size() <= kMaxShownName) return name;
  return absl::StrCat(name.substr(0, kMaxShownName / 2), "... (", name.size(), " characters)");
}

// The status of `path`; file_type::not_found when it does not exist. Throws
// CorruptModelCheckpointError naming `path` and the system's reason when it
// cannot be examined (a name too long, no permission), blamed on `blamed`
// with `what` saying what `path` is.
fs::file_status StatusOf(const fs::path& path, const std::string& blamed, const std::string& what) {
  std::error_code error;
  const fs::file_status status = fs::status(path, error);
  if (error && status.type() != fs::file_type::not_found) {
    throw CorruptModelCheckpointError(
        blamed, absl::StrCat("cannot examine ", what, " (stat ", Shown(path.string()),
                             "): ", error.message()));
  }
  return status;
}

// Reads a sharded checkpoint's index: the shards it names, sorted by name,
// and the weight map with absolute paths.
void ReadIndex(const fs::path& index, CheckpointFiles& files) {
  std::set<std::string> shards;
  for (const auto& [tensor, shard] : ReadCheckpointIndex(index.string())) {
    const std::string file = (index.parent_path() / shard).string();
    files.weight_map[tensor] = file;
    shards.insert(file);
  }
  for (const std::string& shard : shards) {
    const std::string name =
        absl::StrCat("shard '", Shown(fs::path(shard).filename().string()), "' named by the index");
    const fs::file_status status = StatusOf(shard, index.string(), name);
    if (!fs::exists(status)) {
      throw CorruptModelCheckpointError(
          index.string(), absl::StrCat(name, " is missing (looked for ", Shown(shard), ")"));
    }
    if (!fs::is_regular_file(status)) {
      throw CorruptModelCheckpointError(index.string(),
                                        absl::StrCat(name, " is not a regular file"));
    }
    files.tensor_files.push_back(shard);
  }
  files.index_file = index.string();
}

bool IsPickle(const std::string& name) {
  const std::string ext = fs::path(name).extension().string();
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

}  // namespace

std::map<std::string, std::string> ReadCheckpointIndex(const std::string& path) {
  const fs::path index(path);
  const fs::file_status status = StatusOf(index, path, "the index file");
  if (!fs::exists(status)) throw AssetNotFoundError(path);
  if (!fs::is_regular_file(status)) {
    throw CorruptModelCheckpointError(path, "the index is not a regular file");
  }
  std::error_code error;
  const uintmax_t size = fs::file_size(index, error);
  if (!error && size > kMaxIndexSize) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("the index file has ", size, " bytes, more than the limit of ",
                           kMaxIndexSize));
  }
  std::ifstream in(index, std::ios::binary);
  if (!in) {
    const int reason = errno;
    throw CorruptModelCheckpointError(
        path, absl::StrCat("cannot open the index file for reading: ", std::strerror(reason)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    throw CorruptModelCheckpointError(path, "cannot read the index file: an I/O error");
  }
  const Json root = ParseCheckpointJson(text.str(), index.string());
  auto map = root.is_object() ? root.find("weight_map") : root.end();
  if (map == root.end() || !map->is_object() || map->empty()) {
    throw CorruptModelCheckpointError(index.string(),
                                      "the index has no 'weight_map' object naming tensor files");
  }
  std::map<std::string, std::string> weight_map;
  for (auto it = map->begin(); it != map->end(); ++it) {
    if (!it->is_string()) {
      throw CorruptModelCheckpointError(
          index.string(), absl::StrCat("weight_map entry '", it.key(), "' is not a file name"));
    }
    const std::string shard = it->get<std::string>();
    if (shard.empty() || fs::path(shard).is_absolute() || shard.find("..") != std::string::npos) {
      throw CorruptModelCheckpointError(
          index.string(), absl::StrCat("weight_map entry '", it.key(), "' names '", Shown(shard),
                                       "', which is not a file beside the index"));
    }
    weight_map[it.key()] = shard;
  }
  return weight_map;
}

CheckpointChoice ChooseCheckpointFiles(const std::string& folder,
                                       const std::vector<std::string>& names) {
  const std::set<std::string> present(names.begin(), names.end());
  CheckpointChoice choice;
  for (const char* preferred :
       {"model.safetensors.index.json", "model.safetensors", "consolidated.safetensors"}) {
    if (present.count(preferred) == 0) continue;
    if (absl::EndsWith(preferred, ".json")) {
      choice.index = preferred;
    } else {
      choice.files.push_back(preferred);
    }
    return choice;
  }
  for (const std::string& name : present) {
    if (absl::EndsWith(name, ".safetensors")) choice.files.push_back(name);
  }
  if (!choice.files.empty()) return choice;
  if (present.count("pytorch_model.bin.index.json") != 0) {
    choice.index = "pytorch_model.bin.index.json";
    return choice;
  }
  if (present.count("pytorch_model.bin") != 0) {
    choice.files.push_back("pytorch_model.bin");
    return choice;
  }
  std::map<int, std::string> ranks;
  std::vector<std::string> pickles;
  for (const std::string& name : present) {
    if (const int rank = ConsolidatedRank(name); rank >= 0) {
      ranks[rank] = name;
    } else if (IsPickle(name)) {
      pickles.push_back(name);
    }
  }
  if (!ranks.empty()) {
    int expected = 0;
    for (const auto& [rank, file] : ranks) {
      if (rank != expected) {
        throw CorruptModelCheckpointError(
            folder, absl::StrCat("Meta's per-rank files must be numbered from consolidated.00.pth "
                                 "up without gaps, but rank ",
                                 expected, " is missing (the next file is ", file, ")"));
      }
      choice.files.push_back(file);
      ++expected;
    }
    choice.rank_sharded = choice.files.size() > 1;
    return choice;
  }
  if (present.count("model.pt") != 0) {
    choice.files.push_back("model.pt");
    return choice;
  }
  if (pickles.size() == 1) {
    choice.files.push_back(pickles.front());
    return choice;
  }
  if (pickles.empty()) {
    throw CorruptModelCheckpointError(
        folder, "the folder holds no checkpoint file (.safetensors, .pt, .pth or .bin)");
  }
  throw CorruptModelCheckpointError(
      folder, absl::StrCat("the folder holds several PyTorch files (", absl::StrJoin(pickles, ", "),
                           ") and no index naming the checkpoint's; give the file"));
}

CheckpointFiles FindCheckpointFiles(const std::string& path) {
  const fs::path given(path);
  const fs::file_status status = StatusOf(given, path, "the checkpoint path");
  if (!fs::exists(status)) throw AssetNotFoundError(path);
  CheckpointFiles files;
  fs::path folder = given;
  if (fs::is_directory(status)) {
    std::vector<std::string> names;
    std::error_code error;
    fs::directory_iterator entries(given, error);
    for (; !error && entries != fs::directory_iterator(); entries.increment(error)) {
      std::error_code ignored;  // an entry that vanished or cannot be examined is no candidate
      if (entries->is_regular_file(ignored)) {
        names.push_back(entries->path().filename().string());
      }
    }
    if (error) {
      throw CorruptModelCheckpointError(path,
                                        absl::StrCat("cannot list the folder: ", error.message()));
    }
    const CheckpointChoice choice = ChooseCheckpointFiles(given.string(), names);
    if (!choice.index.empty()) {
      ReadIndex(given / choice.index, files);
    } else {
      for (const std::string& name : choice.files) {
        files.tensor_files.push_back((given / name).string());
      }
      files.rank_sharded = choice.rank_sharded;
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
  const fs::path config = folder / "config.json";
  if (fs::is_regular_file(StatusOf(config, config.string(), "the checkpoint's config.json"))) {
    files.config_json = config.string();
  }
  return files;
}

}  // namespace modelhub
