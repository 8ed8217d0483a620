#ifndef MODELHUB_RUNTIME_BLUEPRINT_ROPE_SETTINGS_H_
#define MODELHUB_RUNTIME_BLUEPRINT_ROPE_SETTINGS_H_

// The value types of rotary position embeddings, shared by the model
// description, the RoPE block (runtime/nn) and checkpoint layout conversion.
// No dependencies: the leaf of the runtime.

#include <cstdint>
#include <vector>

namespace modelhub {

// How rotary embeddings pair the features of a head.
enum class RopeLayout {
  kRotateHalf,   // pairs (i, i + D/2): Hugging Face checkpoints
  kInterleaved,  // pairs (2i, 2i + 1): Meta reference checkpoints
};

// "rotate_half" / "interleaved".
inline const char* RopeLayoutName(RopeLayout layout) {
  return layout == RopeLayout::kRotateHalf ? "rotate_half" : "interleaved";
}

// Llama 3 frequency scaling of rotary embeddings (REFERENCE §3).
struct Llama3RopeScaling {
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_context_length = 8192;
};

// LongRoPE frequency scaling (Phi-3, REFERENCE §3): frequency i is divided by
// short_factors[i] while a forward pass reaches positions below
// original_context_length, by long_factors[i] once it reaches beyond; both
// lists have one entry per rotated pair of features.
struct LongRopeScaling {
  std::vector<double> short_factors;
  std::vector<double> long_factors;
  int64_t original_context_length = 4096;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_BLUEPRINT_ROPE_SETTINGS_H_
