#ifndef MODELHUB_RUNTIME_BLUEPRINT_DECODER_PARAMETERS_H_
#define MODELHUB_RUNTIME_BLUEPRINT_DECODER_PARAMETERS_H_

// The parameters of the decoder a blueprint describes, listed once: their
// fairseq2 names, the setting that creates each, their shapes. DecoderModel
// creates exactly these (tests/runtime/models checks it), checkpoint mapping
// computes shapes from them without building anything, and the spec compiler
// checks key-map targets against the names.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/blueprint/decoder_blueprint.h"

namespace modelhub {

// The sizes parameter shapes are made of, computed once from a valid blueprint
// with overflow checks.
struct DecoderSizes {
  int64_t model_dim = 0;
  int64_t vocab_size = 0;
  int64_t head_dim = 0;
  int64_t q_dim = 0;   // num_heads x head_dim
  int64_t kv_dim = 0;  // num_kv_heads x head_dim
  int64_t ffn_inner_dim = 0;
};

// A setting value under which a parameter exists: the setting's DecoderSetting
// key and its value as text ("true"/"false" for a bool, the string itself).
struct ParameterCondition {
  const char* setting;
  const char* value;
};

// How a parameter is split over the ranks of a tensor-parallel gang
// (Megatron's layout): whole on every rank, or sliced by attention heads, by
// KV heads (replicated where there are fewer than ranks), by the FFN's inner
// features or by the vocabulary, along one dimension.
enum class ShardAxis { kReplicated, kHeads, kKvHeads, kFfnInner, kVocab };

// One entry of the parameter list.
struct DecoderParameter {
  // The name; "{i}" stands for each layer index, and such a parameter exists
  // once per layer ("decoder.layers.{i}.ffn.gate_proj.weight").
  const char* name;
  // The settings that create it, all of which must hold; empty when every
  // model has it.
  std::vector<ParameterCondition> conditions;
  std::vector<int64_t> (*shape)(const DecoderSizes&);
  // How it is sharded under tensor parallelism, and along which dimension
  // (0: output features, column-parallel; 1: input features, row-parallel).
  ShardAxis shard_axis = ShardAxis::kReplicated;
  int shard_dim = 0;

  // Whether it is a per-layer parameter.
  bool per_layer() const;
};

// Every parameter any decoder can have, in module order.
const std::vector<DecoderParameter>& DecoderParameterList();

// Whether a model of `blueprint` has `parameter`.
bool HasParameter(const DecoderBlueprint& blueprint, const DecoderParameter& parameter);

// The value of the bool or string setting `key` (a DecoderSetting key) of
// `blueprint` as text, as ParameterCondition holds it. Throws std::logic_error
// for a key that names no such setting.
std::string SettingText(const DecoderBlueprint& blueprint, std::string_view key);

// The parameters of a DecoderModel of `blueprint`, by name, with their shapes:
// exactly those of its named_parameters(), computed from the blueprint alone.
// Nothing is created, so the cost is a few entries per layer whatever the
// sizes. Throws ConfigError when the blueprint is invalid or a size overflows.
std::map<std::string, std::vector<int64_t>> DecoderParameterShapes(
    const DecoderBlueprint& blueprint);

// The number of parameter elements of a DecoderModel of `blueprint` (tied
// weights counted once), computed in constant time without creating anything.
// Throws ConfigError when the blueprint is invalid or the count overflows.
int64_t DecoderParameterCount(const DecoderBlueprint& blueprint);

// The number of parameter tensors of a DecoderModel of `blueprint`, in
// constant time. Throws as DecoderParameterCount.
int64_t DecoderParameterTensorCount(const DecoderBlueprint& blueprint);

// A rank's place in a tensor-parallel gang.
struct TensorParallelRank {
  int64_t rank = 0;
  int64_t size = 1;
};

// The part of each sharded size one rank holds.
struct DecoderShardSizes {
  int64_t num_heads = 0;     // query heads, from head rank * num_heads
  int64_t num_kv_heads = 0;  // KV heads, from first_kv_head
  int64_t first_kv_head = 0;
  int64_t ffn_inner_dim = 0;  // from rank * ffn_inner_dim
  int64_t vocab_start = 0;    // rows [vocab_start, vocab_start + vocab_size)
  int64_t vocab_size = 0;     // of the embedding table and the LM head
};

// The sizes rank `tp` holds of a model of `blueprint`. With fewer KV heads
// than ranks, tp.size / num_kv_heads ranks share each KV head and rank r holds
// head r / (tp.size / num_kv_heads) (vLLM's rule). Throws ConfigError, before
// anything is created or read, naming the size that cannot be split, the
// tensor-parallel size and the divisor it lacks (num_heads, num_kv_heads, the
// FFN inner dim, vocab_size).
DecoderShardSizes ShardSizesOf(const DecoderBlueprint& blueprint, TensorParallelRank tp);

// One parameter as a rank holds it: its shape, and which slice of the whole
// tensor that is (`length` entries from `start` along `dim`; dim -1: all of it).
struct ParameterShard {
  std::vector<int64_t> shape;
  int dim = -1;
  int64_t start = 0;
  int64_t length = 0;
};

// The parameters rank `tp` of a model of `blueprint` holds, by name: the
// names of DecoderParameterShapes, each with its shard. Throws as
// ShardSizesOf.
std::map<std::string, ParameterShard> DecoderParameterShards(const DecoderBlueprint& blueprint,
                                                             TensorParallelRank tp);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_BLUEPRINT_DECODER_PARAMETERS_H_
