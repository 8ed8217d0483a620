#include "tests/testing/small_models.h"

#include <gtest/gtest.h>

#include <optional>
#include <set>

#include "runtime/mapping/rope_layout.h"

namespace modelhub::testing {

DecoderBlueprint Shrunk(DecoderBlueprint b) {
  const bool grouped = b.attention.num_kv_heads < b.attention.num_heads;
  b.model_dim = 64;
  b.num_layers = 2;
  b.vocab_size = 96;
  b.max_seq_len = 64;
  b.attention.num_heads = 4;
  b.attention.num_kv_heads = grouped ? 2 : 4;
  if (b.attention.head_dim) b.attention.head_dim = 32;  // not model_dim / num_heads
  if (b.attention.sliding_window) b.attention.sliding_window = 4;
  if (b.rope.llama3_scaling) b.rope.llama3_scaling->original_context_length = 16;
  DecoderBlueprint::Ffn ffn;  // the sizes reset, the kind of block kept
  ffn.kind = b.ffn.kind;
  ffn.activation = b.ffn.activation;
  ffn.bias = b.ffn.bias;
  ffn.inner_dim = 96;
  b.ffn = ffn;
  return b;
}

std::vector<std::pair<std::string, at::Tensor>> Exported(const DecoderModel& model,
                                                         const KeyMap& map,
                                                         const std::string& what) {
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  std::set<std::string> keys;
  for (const auto& item : model.named_parameters()) {
    const std::optional<std::string> key = map.Unmap(item.key());
    if (!key) {
      ADD_FAILURE() << what << ": no source key for " << item.key();
      continue;
    }
    EXPECT_TRUE(keys.insert(*key).second) << what << ": two parameters stored as " << *key;
    const std::optional<MappedKey> back = map.Map(*key);
    if (!back || back->dropped || back->name != item.key()) {
      ADD_FAILURE() << what << ": " << *key << " does not map back to " << item.key();
      continue;
    }
    at::Tensor tensor = item.value();
    if (back->rope != RopeProjection::kNone) {
      tensor = ConvertRopeLayout(tensor, model.blueprint().HeadDim(), model.blueprint().rope.layout,
                                 map.layout());
    }
    tensors.emplace_back(*key, tensor);
  }
  return tensors;
}

}  // namespace modelhub::testing
