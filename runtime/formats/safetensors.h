#ifndef MODELHUB_RUNTIME_CHECKPOINT_SAFETENSORS_H_
#define MODELHUB_RUNTIME_CHECKPOINT_SAFETENSORS_H_

// modelhub's own reader and writer of the safetensors format
// (https://github.com/huggingface/safetensors): an 8-byte little-endian header
// length N, N bytes of JSON naming each tensor's dtype, shape and byte range,
// then the tensor bytes. The reader enforces the rules of the reference Rust
// crate and reports every violation as a CorruptModelCheckpointError naming the
// file, the tensor and the absolute byte offset in the file.

#include <ATen/core/Tensor.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/formats/tensor_file.h"

namespace modelhub {

// Opens and validates the safetensors file at `path`: reads and checks the
// header only; tensor bytes are read on demand through the returned file.
// The rules are the reference crate's (safetensors/src/tensor.rs): its 22
// dtypes, sub-byte ones (F4, F6_*) taking numel * bits / 8 bytes, which must
// be whole; JSON whitespace around the header's object (writers may pad it
// on either side). Throws AssetNotFoundError if it does not exist, and
// CorruptModelCheckpointError if it breaks any rule of the format (naming
// the tensor and file offset) or cannot be opened or read (naming the
// system's reason). The file's metadata is the header's "__metadata__".
TensorFile OpenSafetensors(const std::string& path, ReadStrategy strategy = ReadStrategy::kPread);

// Writes `tensors` as a safetensors file at `path`. Tensors may be on any
// device, of any layout and strides: each is copied to a contiguous CPU tensor
// one at a time as it is written. Entries keep the given order; `metadata`
// becomes "__metadata__" (omitted when empty). The header is padded with spaces
// so that tensor data starts at a multiple of 8. The file is written to a
// temporary file in the same directory, fsync'ed, then renamed over `path`, so
// a failure never leaves a partial file under `path` (the temporary file is
// removed). Throws CheckpointSaveError naming `path` for duplicate names, the
// name "__metadata__", undefined tensors, names that are not UTF-8 or dtypes
// safetensors lacks (before anything is written), and for I/O errors (naming
// the operation and the system's reason); TorchError when a tensor cannot be
// copied to the CPU.
void WriteSafetensors(const std::string& path,
                      const std::vector<std::pair<std::string, at::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CHECKPOINT_SAFETENSORS_H_
