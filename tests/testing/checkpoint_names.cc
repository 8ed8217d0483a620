#include "tests/testing/checkpoint_names.h"

namespace modelhub::testing {

std::vector<std::string> HuggingFaceTensorNames(const DecoderBlueprint& b) {
  std::vector<std::string> names = {"model.embed_tokens.weight", "model.norm.weight"};
  if (!b.tied_embeddings) names.push_back("lm_head.weight");
  for (int64_t i = 0; i < b.num_layers; ++i) {
    const std::string layer = "model.layers." + std::to_string(i) + ".";
    for (const char* proj : {"q_proj", "k_proj", "v_proj"}) {
      names.push_back(layer + "self_attn." + proj + ".weight");
      if (b.attention.qkv_bias) names.push_back(layer + "self_attn." + proj + ".bias");
    }
    if (b.attention.q_norm) names.push_back(layer + "self_attn.q_norm.weight");
    if (b.attention.k_norm) names.push_back(layer + "self_attn.k_norm.weight");
    for (const char* name :
         {"self_attn.o_proj.weight", "input_layernorm.weight", "post_attention_layernorm.weight",
          "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"}) {
      names.push_back(layer + name);
    }
  }
  return names;
}

std::vector<std::string> MetaTensorNames(const DecoderBlueprint& b) {
  std::vector<std::string> names = {"tok_embeddings.weight", "norm.weight", "output.weight",
                                    "rope.freqs"};
  for (int64_t i = 0; i < b.num_layers; ++i) {
    const std::string layer = "layers." + std::to_string(i) + ".";
    for (const char* name :
         {"attention.wq.weight", "attention.wk.weight", "attention.wv.weight",
          "attention.wo.weight", "attention_norm.weight", "ffn_norm.weight",
          "feed_forward.w1.weight", "feed_forward.w2.weight", "feed_forward.w3.weight"}) {
      names.push_back(layer + name);
    }
  }
  return names;
}

}  // namespace modelhub::testing
