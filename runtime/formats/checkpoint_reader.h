#ifndef MODELHUB_RUNTIME_CHECKPOINT_CHECKPOINT_READER_H_
#define MODELHUB_RUNTIME_CHECKPOINT_CHECKPOINT_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "runtime/formats/checkpoint_files.h"
#include "runtime/formats/tensor_file.h"
#include "runtime/formats/torch_checkpoint.h"

namespace modelhub {

// Where one stored piece of a checkpoint tensor lives.
struct TensorPart {
  const TensorFile* file;
  const TensorEntry* entry;
};

// One tensor of a checkpoint: its name in the checkpoint and its parts: one,
// or, in a rank-sharded checkpoint, one per rank file in rank order (slices to
// concatenate, or copies of a replicated tensor: only the model's shape tells
// which, see MapCheckpoint). Parts share dtype and rank.
struct CheckpointTensor {
  std::string name;
  std::vector<TensorPart> parts;

  // The first part's entry (the whole tensor unless rank-sharded).
  const TensorEntry& entry() const { return *parts.front().entry; }
};

// The tensors of a (possibly sharded) checkpoint under one name space, read
// lazily: opening reads indexes (safetensors headers, torch.save pickles) only.
class CheckpointReader {
 public:
  // Opens every file of `files`, each in the format its first bytes show:
  // torch.save zips through OpenTorchCheckpoint(`torch`), anything else as
  // safetensors (CorruptModelCheckpointError for a bad one). In a sharded
  // checkpoint a name in two files, or a name the index places in a file that
  // lacks it, is a CorruptModelCheckpointError naming both files; in a
  // rank-sharded one, every file must hold the same names, with the same dtype
  // and rank.
  CheckpointReader(const CheckpointFiles& files, ReadStrategy strategy,
                   const TorchLoadOptions& torch = {});

  // Every tensor, in data order of the (first) file holding it: the order that
  // reads sequentially.
  const std::vector<CheckpointTensor>& tensors() const { return tensors_; }
  // Total bytes of tensor data, every part counted.
  uint64_t total_bytes() const { return total_bytes_; }
  const CheckpointFiles& files() const { return files_; }
  // The opened files, in the order of files().tensor_files.
  const std::vector<std::unique_ptr<TensorFile>>& opened() const { return opened_; }

 private:
  void AddShardedFile(const TensorFile& file);
  void AddRankFile(const TensorFile& file, size_t rank);

  CheckpointFiles files_;
  std::vector<std::unique_ptr<TensorFile>> opened_;
  std::vector<CheckpointTensor> tensors_;
  std::unordered_map<std::string, const TensorFile*> owner_;  // sharded: each name's file
  uint64_t total_bytes_ = 0;
};

// Opens one checkpoint file in the format its first bytes show (see
// CheckpointReader).
TensorFile OpenCheckpointFile(const std::string& path, ReadStrategy strategy,
                              const TorchLoadOptions& torch = {});

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CHECKPOINT_CHECKPOINT_READER_H_
