#ifndef MODELHUB_RUNTIME_HUB_CHECKPOINT_SAVER_H_
#define MODELHUB_RUNTIME_HUB_CHECKPOINT_SAVER_H_

// Saving models as Hugging Face checkpoint folders (config.json and
// safetensors shards), which transformers, vLLM and modelhub's own loaders
// read.

#include <c10/core/ScalarType.h>

#include <cstdint>
#include <optional>
#include <string>

#include "runtime/hub/model_family.h"
#include "runtime/models/decoder_model.h"

namespace modelhub {

// How a checkpoint is written.
struct SaveOptions {
  // The most tensor bytes in one safetensors file (transformers' default
  // "5GB"); a tensor larger than this gets a file of its own.
  uint64_t max_shard_bytes = 5'000'000'000;
  // The dtype tensors are stored in (converted on write); unset: the model's.
  std::optional<c10::ScalarType> dtype;
  // A progress bar on stderr, when it is a terminal.
  bool progress = true;
};

// Writes `model`, built from `config` of `family`, to the folder `dir` as a
// Hugging Face checkpoint: config.json (see FormatHfConfig), then the
// parameters as safetensors files with metadata {"format": "pt"}. Tensors are
// named by the family's "hf" key map, in parameter order, with q/k rows in
// that format's RoPE layout; a tied LM head is not stored. They fill
// `model.safetensors` when they fit in options.max_shard_bytes, else shards
// `model-00001-of-0000K.safetensors`, ... (a new one starting when the next
// tensor would pass the limit) and `model.safetensors.index.json` with
// {"metadata": {"total_size": <bytes of tensor data>}, "weight_map": {...}}.
//
// The folder is written as a temporary sibling, `<dir>.tmp.<pid>.<n>`, and
// renamed to `dir` once complete, so `dir` never holds a partial checkpoint;
// missing parent folders are created. Throws CheckpointSaveError naming `dir`,
// having written nothing, when `dir` exists and is not an empty folder, the
// model is on the meta device or does not match `config`, the family has no
// "hf" key map or a parameter no name in it, or the config has no config.json
// form; and CheckpointSaveError (I/O) or TorchError (LibTorch) when writing
// fails, after removing the temporary folder.
void SaveCheckpoint(const ModelFamily& family, const AnyConfig& config, const DecoderModel& model,
                    const std::string& dir, const SaveOptions& options = {});

// Throws CheckpointSaveError unless `dir` is absent or an empty folder, as
// SaveCheckpoint requires, and the nearest existing folder above it (where the
// temporary sibling and missing parents are created) is a writable folder;
// for callers that check before loading a model.
void CheckSaveDestination(const std::string& dir);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_HUB_CHECKPOINT_SAVER_H_
