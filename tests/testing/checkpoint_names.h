#ifndef MODELHUB_TESTS_TESTING_CHECKPOINT_NAMES_H_
#define MODELHUB_TESTS_TESTING_CHECKPOINT_NAMES_H_

#include <string>
#include <vector>

#include "runtime/blueprint/decoder_blueprint.h"

namespace modelhub::testing {

// The tensor names a Hugging Face checkpoint (transformers' Llama/Qwen2/Qwen3/
// Mistral layout) holds for a model with `blueprint`, written down from that
// layout rather than derived from modelhub's key maps.
std::vector<std::string> HuggingFaceTensorNames(const DecoderBlueprint& blueprint);

// The tensor names of a Meta reference checkpoint (consolidated.NN.pth) for
// `blueprint`, including the `rope.freqs` buffer older ones carry.
std::vector<std::string> MetaTensorNames(const DecoderBlueprint& blueprint);

}  // namespace modelhub::testing

#endif  // MODELHUB_TESTS_TESTING_CHECKPOINT_NAMES_H_
