#ifndef MODELHUB_RUNTIME_HUB_HF_CONFIG_H_
#define MODELHUB_RUNTIME_HUB_HF_CONFIG_H_

// Reading a Hugging Face config.json into a family's typed config, and writing
// one for a model, driven by the `hugging_face` section of the family's spec
// (ModelFamily::hf_config()).

#include <c10/core/ScalarType.h>

#include <cstddef>
#include <memory>
#include <string>

#include "runtime/blueprint/decoder_blueprint.h"
#include "runtime/hub/model_family.h"

namespace modelhub {

// A config read from a config.json: the family that reads its model_type, the
// arch preset it started from, and the config with config.json's values applied.
struct HfModelConfig {
  const ModelFamily* family = nullptr;
  std::string model_type;
  std::string arch;
  std::unique_ptr<AnyConfig> config;
};

// Reads the config.json at `path`. The family is the registered one whose spec
// lists the file's model_type; its preset is overridden key by key (absent keys
// keep the preset's value) and the result validated. Values are typed as
// transformers' config classes type them: sizes are JSON integers (not "32",
// 32.0 or true), scales numbers, flags booleans; null only where the class
// allows it, meaning what it means there (sliding_window: no window; head_dim:
// hidden_size / num_attention_heads; num_key_value_heads: num_attention_heads
// for llama and qwen). rope_parameters (transformers 5), rope_scaling's legacy
// "type" and hidden_act "swish" read as transformers reads them. Sizes, scales
// and head sizes the decoder cannot build (not positive, odd head sizes, heads
// that do not divide) are refused with the keys they derive from. Every failure
// (unreadable file, invalid JSON with its byte offset, unknown model_type, a
// value of the wrong type, a key with a value the family cannot represent, a
// config that does not validate) is a CorruptModelCheckpointError naming the
// file and the key.
HfModelConfig ReadHfConfig(const std::string& path);

// The largest config.json ReadHfConfig reads; a larger one is refused before
// it is parsed.
inline constexpr size_t kMaxHfConfigBytes = size_t{16} << 20;

// The same from JSON text; `path` is only used in messages.
HfModelConfig ParseHfConfig(const std::string& json_text, const std::string& path);

// The config.json text of a model of `blueprint` in `family` whose weights are
// stored as `dtype` (torch_dtype), formatted as transformers writes it (keys
// sorted, 2-space indent, final newline). It holds hidden_size,
// intermediate_size (the effective FFN width), num_hidden_layers,
// num_attention_heads, num_key_value_heads, max_position_embeddings,
// vocab_size, rms_norm_eps, rope_theta, tie_word_embeddings, hidden_act,
// torch_dtype, model_type and architectures, plus the keys only some model
// types know (head_dim, attention_bias, rope_scaling, sliding_window,
// use_sliding_window) where the family's spec reads or requires them. The
// model_type is the first of the family's (spec order) whose text
// ParseHfConfig reads back into this family and the same model
// (DescribeDifference), so that reloading gives the same model; its
// architectures entry comes from the spec. Throws CheckpointSaveError naming
// `path` (the destination, for messages) when no model_type gives the same
// model (listing why for each) or `dtype` is not a float type.
std::string FormatHfConfig(const ModelFamily& family, const DecoderBlueprint& blueprint,
                           c10::ScalarType dtype, const std::string& path);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_HUB_HF_CONFIG_H_
