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
  if (LongRopeScaling* longrope = b.rope.longrope_scaling ? &*b.rope.longrope_scaling : nullptr) {
    // The first factors, one per rotated pair of the smaller heads.
    const size_t pairs = static_cast<size_t>(b.RotaryDim() / 2);
    longrope->short_factors.resize(pairs);
    longrope->long_factors.resize(pairs);
    longrope->original_context_length = 16;
  }
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
  const auto parameters = model.named_parameters();
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  std::set<std::string> keys;
  std::set<std::string> stored;  // parameters of the tensors in `tensors`
  for (const auto& item : parameters) {
    const std::optional<std::string> key = map.Unmap(item.key());
    if (!key) {
      ADD_FAILURE() << what << ": no source key for " << item.key();
      continue;
    }
    if (keys.count(*key) > 0) {  // a later part of a fused tensor
      EXPECT_EQ(stored.count(item.key()), 1u) << what << ": " << *key << " lacks " << item.key();
      continue;
    }
    keys.insert(*key);
    const std::optional<MappedKey> back = map.Map(*key);
    if (!back || back->dropped) {
      ADD_FAILURE() << what << ": " << *key << " does not map back to " << item.key();
      continue;
    }
    std::vector<at::Tensor> parts;
    for (const MappedKey& target : TargetsOf(*back)) {
      const at::Tensor* parameter = parameters.find(target.name);
      if (parameter == nullptr || !stored.insert(target.name).second) {
        ADD_FAILURE() << what << ": " << *key << " holds " << target.name
                      << ", which is no parameter or stored twice";
        continue;
      }
      at::Tensor tensor = *parameter;
      if (target.rope != RopeProjection::kNone) {
        tensor = ConvertRopeLayout(tensor, model.blueprint().HeadDim(),
                                   model.blueprint().rope.layout, map.layout());
      }
      parts.push_back(tensor);
    }
    EXPECT_EQ(stored.count(item.key()), 1u) << what << ": " << *key << " lacks " << item.key();
    if (parts.empty()) continue;
    tensors.emplace_back(*key, parts.size() == 1 ? parts.front() : at::cat(parts, back->split_dim));
  }
  return tensors;
}

}  // namespace modelhub::testing
