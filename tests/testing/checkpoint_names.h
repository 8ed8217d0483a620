#ifndef MODELHUB_TESTS_TESTING_CHECKPOINT_NAMES_H_
#define MODELHUB_TESTS_TESTING_CHECKPOINT_NAMES_H_

#include <string>
#include <vector>

#include "runtime/blueprint/decoder_blueprint.h"

namespace modelhub::testing {

// The tensor names a Hugging Face checkpoint (transformers' Llama/Qwen2/Qwen3/Gemma/
// Gemma 2/3/OLMo 2/Granite/StarCoder 2/Mistral layouts) holds for a model with
// `blueprint`, written down from those layouts rather than derived from
// modelhub's key maps. `fused`: Phi-3's layout, q/k/v stored as one
// self_attn.qkv_proj and gate/up as one mlp.gate_up_proj.
std::vector<std::string> HuggingFaceTensorNames(const DecoderBlueprint& blueprint,
                                                bool fused = false);

// The tensor names of a Meta reference checkpoint (consolidated.NN.pth) for
// `blueprint`, including the `rope.freqs` buffer older ones carry.
std::vector<std::string> MetaTensorNames(const DecoderBlueprint& blueprint);

}  // namespace modelhub::testing

#endif  // MODELHUB_TESTS_TESTING_CHECKPOINT_NAMES_H_
