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

// One entry of the parameter list.
struct DecoderParameter {
  // The name; "{i}" stands for each layer index, and such a parameter exists
  // once per layer ("decoder.layers.{i}.ffn.gate_proj.weight").
  const char* name;
  // The bool setting (a DecoderSetting key) that creates it, "" when every
  // model has it, and the value of that setting which creates it.
  const char* created_by;
  bool created_when;
  std::vector<int64_t> (*shape)(const DecoderSizes&);

  // Whether it is a per-layer parameter.
  bool per_layer() const;
};

// Every parameter any decoder can have, in module order.
const std::vector<DecoderParameter>& DecoderParameterList();

// Whether a model of `blueprint` has `parameter`.
bool HasParameter(const DecoderBlueprint& blueprint, const DecoderParameter& parameter);

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

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_BLUEPRINT_DECODER_PARAMETERS_H_
