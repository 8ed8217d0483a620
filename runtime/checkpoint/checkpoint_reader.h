#ifndef MODELHUB_RUNTIME_CHECKPOINT_CHECKPOINT_READER_H_
#define MODELHUB_RUNTIME_CHECKPOINT_CHECKPOINT_READER_H_

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/checkpoint/checkpoint_files.h"
#include "runtime/checkpoint/safetensors.h"

namespace modelhub {

// One tensor of a checkpoint: its name in the checkpoint and where it lives.
struct CheckpointTensor {
  std::string name;
  const TensorFile* file;
  const TensorEntry* entry;
};

// The tensors of a (possibly sharded) checkpoint under one name space, read
// lazily: opening reads headers only.
class CheckpointReader {
 public:
  // Opens every file of `files` (CorruptModelCheckpointError for a bad one).
  // A name in two files, or a name the index places in a file that lacks it,
  // is a CorruptModelCheckpointError naming both files.
  CheckpointReader(const CheckpointFiles& files, ReadStrategy strategy);

  // Every tensor, file by file in data order (the order that reads
  // sequentially).
  const std::vector<CheckpointTensor>& tensors() const { return tensors_; }
  // Total bytes of tensor data.
  uint64_t total_bytes() const { return total_bytes_; }
  const CheckpointFiles& files() const { return files_; }

 private:
  CheckpointFiles files_;
  std::vector<std::unique_ptr<TensorFile>> opened_;
  std::vector<CheckpointTensor> tensors_;
  uint64_t total_bytes_ = 0;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CHECKPOINT_CHECKPOINT_READER_H_
