#ifndef MODELHUB_RUNTIME_CHECKPOINT_CHECKPOINT_FILES_H_
#define MODELHUB_RUNTIME_CHECKPOINT_CHECKPOINT_FILES_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace modelhub {

// The files that make up a checkpoint, found from the path a user gave.
struct CheckpointFiles {
  // The safetensors files, in shard order.
  std::vector<std::string> tensor_files;
  // The index file of a sharded checkpoint ("" when not sharded) and its
  // weight map (tensor name -> absolute file path).
  std::string index_file;
  std::map<std::string, std::string> weight_map;
  // A Hugging Face config.json in the checkpoint's folder, when there is one.
  std::optional<std::string> config_json;
};

// Finds the files of the checkpoint at `path`: a safetensors file (any name but
// .pt/.pth/.bin); a
// model.safetensors.index.json (files taken from its weight map); or a folder
// holding model.safetensors.index.json, model.safetensors,
// consolidated.safetensors or other *.safetensors files (in that order of
// preference). Throws AssetNotFoundError when `path` does not exist, and
// CorruptModelCheckpointError for an unreadable or malformed index (naming the
// byte offset of a JSON error), a shard the index names that does not exist, a
// folder with no safetensors file, or a format modelhub does not read yet.
CheckpointFiles FindCheckpointFiles(const std::string& path);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CHECKPOINT_CHECKPOINT_FILES_H_
