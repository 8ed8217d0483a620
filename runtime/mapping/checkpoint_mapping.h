#ifndef MODELHUB_RUNTIME_CHECKPOINT_CHECKPOINT_MAPPING_H_
#define MODELHUB_RUNTIME_CHECKPOINT_CHECKPOINT_MAPPING_H_

// Decides which model parameter each checkpoint tensor becomes: picks the key
// map (format) that fits the checkpoint's names, maps every name, and checks
// strictly that the result covers the model exactly, with the right shapes.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "runtime/blueprint/rope_settings.h"
#include "runtime/formats/checkpoint_reader.h"
#include "runtime/mapping/key_map.h"

namespace modelhub {

// A checkpoint tensor and the parameter it loads into.
struct MappedTensor {
  const CheckpointTensor* source;
  std::string name;                             // the model's parameter name
  RopeProjection rope = RopeProjection::kNone;  // rows to convert, when layouts differ
  // How the parts of a rank-sharded tensor make the parameter: concatenated
  // along this dimension, or (-1) the first part is the whole tensor (the only
  // part, or one of identical replicas).
  int split_dim = -1;
  // A part of a fused tensor (one stored piece): `slice_length` entries from
  // `slice_start` along `slice_dim` of the source are the parameter;
  // slice_dim -1: the whole source.
  int slice_dim = -1;
  int64_t slice_start = 0;
  int64_t slice_length = 0;

  // The parts to read: all of them along split_dim, else the first.
  std::vector<TensorPart> parts() const {
    if (split_dim < 0) return {source->parts.front()};
    return source->parts;
  }
};

// Every tensor a checkpoint contributes to a model, in reading order.
struct CheckpointMapping {
  std::string format;  // the key map used, or "native" for the model's own names
  RopeLayout layout = RopeLayout::kRotateHalf;  // RoPE layout of the checkpoint's q/k rows
  std::vector<MappedTensor> tensors;
  uint64_t bytes = 0;  // checkpoint bytes of the mapped tensors
};

// The model's parameters by name, with their shapes.
using ParameterShapes = std::map<std::string, std::vector<int64_t>>;

// A key's mapping under `map` (null: the model's own names, unchanged).
std::optional<MappedKey> MapKey(const KeyMap* map, const std::string& key);

// The key map (null: the model's own names) under which the most tensor names
// of `reader` map, not dropped, to a name `wanted` accepts; ties go to the
// model's own names, then to `maps` in order. Null when no name maps.
const KeyMap* ChooseKeyMap(const CheckpointReader& reader, const std::vector<const KeyMap*>& maps,
                           const std::function<bool(const std::string&)>& wanted);

// Maps the tensors of `reader` onto `parameters`. The format is the one of
// `maps` (or the model's own names) that maps the most names onto parameters.
// A fused tensor gives each of its parameters a slice along its split
// dimension, sized by the parameters' shapes in order.
// Tensors the format drops are skipped; so is an LM head when the model ties it
// to the embeddings (`tied_head` names the parameter it would have had). The
// parts of a rank-sharded tensor are concatenated along the one dimension
// where their sizes add up to the parameter's (Meta: column-parallel weights
// on dim 0, row-parallel ones on dim 1, embeddings on either), or taken as
// replicas when each has the parameter's shape. The parts of a tensor must
// all have one shape, and replicas the same values (compared byte for byte up
// to 16 MiB a tensor, shapes only beyond): otherwise a
// CorruptModelCheckpointError names the tensor and both rank files. A mapped
// tensor of a dtype LibTorch lacks, or a complex one, is an
// UnsupportedDtypeError naming its file, the tensor and the dtype.
// Throws CorruptModelCheckpointError naming `path` and listing the offending
// names (the first few and a count) when tensors are unexpected, parameters
// are missing, or shapes differ.
CheckpointMapping MapCheckpoint(const CheckpointReader& reader,
                                const std::vector<const KeyMap*>& maps,
                                const ParameterShapes& parameters, const std::string& tied_head,
                                const std::string& path);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CHECKPOINT_CHECKPOINT_MAPPING_H_
