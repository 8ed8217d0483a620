#ifndef MODELHUB_RUNTIME_CHECKPOINT_CHECKPOINT_FILES_H_
#define MODELHUB_RUNTIME_CHECKPOINT_CHECKPOINT_FILES_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace modelhub {

// The files that make up a checkpoint, found from the path a user gave. Each
// file is read in the format its first bytes show (safetensors or torch.save).
struct CheckpointFiles {
  // The tensor files, in shard (or rank) order.
  std::vector<std::string> tensor_files;
  // The index file of a sharded checkpoint ("" when not sharded) and its
  // weight map (tensor name -> absolute file path).
  std::string index_file;
  std::map<std::string, std::string> weight_map;
  // True for a Meta reference checkpoint split by tensor-parallel rank
  // (consolidated.00.pth ... consolidated.NN.pth, N > 0): every file holds a
  // slice of every tensor, and tensor_files are in rank order.
  bool rank_sharded = false;
  // A Hugging Face config.json in the checkpoint's folder, when there is one.
  std::optional<std::string> config_json;
};

// The weight map of the index file at `path` (model.safetensors.index.json,
// pytorch_model.bin.index.json): tensor name -> shard file name, relative to
// the index's folder. Throws AssetNotFoundError when it does not exist, and
// CorruptModelCheckpointError for a file that cannot be examined or read
// (naming the system's reason) or is not a regular file, one over 64 MiB,
// invalid JSON (naming the byte offset), no weight_map object, or an entry
// that is not a file name beside the index.
std::map<std::string, std::string> ReadCheckpointIndex(const std::string& path);

// The checkpoint a folder holds, chosen from the names of its files by the
// order of preference FindCheckpointFiles documents.
struct CheckpointChoice {
  // The name of the index to read (its weight map names the tensor files), or
  // "" when `files` are the checkpoint.
  std::string index;
  // Tensor file names, in shard or rank order.
  std::vector<std::string> files;
  // Meta's per-rank files (see CheckpointFiles::rank_sharded).
  bool rank_sharded = false;
};

// Chooses the checkpoint among `names` (the files of `folder`, which is only
// named in errors). Throws CorruptModelCheckpointError for a folder with no
// checkpoint file, several PyTorch files and no index, or a gap in Meta's
// rank files.
CheckpointChoice ChooseCheckpointFiles(const std::string& folder,
                                       const std::vector<std::string>& names);

// Finds the files of the checkpoint at `path`: a tensor file (any name); an
// index (model.safetensors.index.json, pytorch_model.bin.index.json: files
// taken from its weight map); or a folder holding, in this order of
// preference, model.safetensors.index.json, model.safetensors,
// consolidated.safetensors, other *.safetensors files, pytorch_model.bin.index.json,
// pytorch_model.bin, consolidated.NN.pth (Meta's per-rank files), model.pt, or
// a single *.pt / *.pth / *.bin file. Throws AssetNotFoundError when `path` does
// not exist, and CorruptModelCheckpointError for an unreadable or malformed
// index (naming the byte offset of a JSON error), a shard the index names that
// does not exist or cannot be examined (a name too long: the system's reason),
// a path or folder that cannot be examined or listed, a gap in Meta's rank
// files, or a folder with no checkpoint file or several candidates (listed).
// Never a std::filesystem error.
CheckpointFiles FindCheckpointFiles(const std::string& path);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CHECKPOINT_CHECKPOINT_FILES_H_
