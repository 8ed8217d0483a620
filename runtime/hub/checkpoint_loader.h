#ifndef MODELHUB_RUNTIME_HUB_CHECKPOINT_LOADER_H_
#define MODELHUB_RUNTIME_HUB_CHECKPOINT_LOADER_H_

// Loading checkpoints into models: the file formats and key maps meet the
// model here. A model is created without initializing its weights, then each
// tensor is read straight into its parameter (same dtype, CPU: one pread into
// the parameter's memory; otherwise through one temporary per tensor).

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "runtime/formats/checkpoint_reader.h"
#include "runtime/hub/model_family.h"
#include "runtime/mapping/checkpoint_mapping.h"
#include "runtime/models/decoder_model.h"

namespace modelhub {

// How a checkpoint is read.
struct LoadOptions {
  bool mmap = false;     // map files instead of pread (see ReadStrategy)
  bool progress = true;  // a progress bar on stderr, when it is a terminal
  std::string label;     // what the progress bar calls the model
  // Read torch.save files as torch.load(weights_only=True) does; false (a
  // card's `restrict: false`) also accepts known-harmless metadata objects,
  // which are skipped. Nothing in a checkpoint is ever executed either way.
  bool restrict = true;
  // A remote checkpoint (a card's hg:// or https://) comes from the cache
  // only: no network (as HF_HUB_OFFLINE=1).
  bool offline = false;
  // Where a field of the config (a top-level field name: "num_layers") got its
  // value, as a phrase for messages: "config.json key 'num_hidden_layers'
  // (/m/config.json)", or "" when unknown. Unset: messages name the field.
  std::function<std::string(std::string_view field)> config_origin = nullptr;
};

// What a load did, for reports and benchmarks.
struct LoadStats {
  std::string format;             // the key map used ("hf", "meta", "native")
  uint64_t bytes = 0;             // tensor bytes this process read (counted at the reads)
  uint64_t checkpoint_bytes = 0;  // tensor bytes of the whole checkpoint
  double seconds = 0;             // wall time of reading and converting
};

// Creates a model of `config` (family `family`) at `placement` and loads the
// checkpoint at `path` (see FindCheckpointFiles) into it. The model is checked
// against the checkpoint's names and shapes (read from its headers) before
// anything is allocated, so a config whose sizes the checkpoint contradicts
// costs nothing: its layer count and embedding table first (naming the
// config's field through options.config_origin), then every parameter. Throws
// CorruptModelCheckpointError when the checkpoint does not fit the model
// exactly (another layer count, vocabulary or model_dim; unexpected, missing or
// misshaped tensors, listed), ConfigError for an invalid config or a model
// larger than memory, TorchError when LibTorch fails, Error when the
// parameters' memory cannot be mapped.
//
// Tensor-parallel (placement.gangs.tp of more than one rank): every rank of
// the gang calls it alike; each creates its shards (DecoderParameterShards)
// and reads only their bytes: a shard along dim 0 is one byte range, one along
// dim 1 one range per row; of a rank-sharded checkpoint (Meta's
// consolidated.NN.pth, N files onto any number of ranks where sizes divide),
// only the files that hold part of its slice are read.
std::shared_ptr<DecoderModel> LoadCheckpoint(const ModelFamily& family, const AnyConfig& config,
                                             const std::string& path,
                                             const ModelPlacement& placement,
                                             const LoadOptions& options,
                                             LoadStats* stats = nullptr);

// A checkpoint's tensors, one at a time, in the model's own names with their
// RoPE layout converted to the model's (fairseq2's iter_checkpoint). Tensors
// are read on demand; each is a new CPU tensor in the checkpoint's dtype.
class CheckpointStream {
 public:
  // Opens `path` and maps it onto a model of `config` (checked as strictly as
  // LoadCheckpoint does, without creating the model or allocating anything).
  CheckpointStream(const ModelFamily& family, const AnyConfig& config, const std::string& path,
                   const LoadOptions& options = {});
  ~CheckpointStream();
  CheckpointStream(CheckpointStream&&) noexcept;
  CheckpointStream& operator=(CheckpointStream&&) noexcept;

  // The next tensor, or false once all were returned.
  bool Next(std::string* name, at::Tensor* tensor);
  // How many tensors the stream yields in all.
  size_t size() const;

 private:
  std::unique_ptr<CheckpointReader> reader_;
  DecoderBlueprint blueprint_;  // before mapping_, which is computed with it
  CheckpointMapping mapping_;
  size_t next_ = 0;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_HUB_CHECKPOINT_LOADER_H_
