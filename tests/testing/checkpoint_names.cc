#include "tests/testing/checkpoint_names.h"

namespace modelhub::testing {

std::vector<std::string> HuggingFaceTensorNames(const DecoderBlueprint& b, bool fused) {
  const bool layer_norm = b.norm.kind == "layer";  // StarCoder 2: norms with biases
  std::vector<std::string> names = {"model.embed_tokens.weight", "model.norm.weight"};
  if (layer_norm) names.push_back("model.norm.bias");
  if (!b.tied_embeddings) names.push_back("lm_head.weight");
  for (int64_t i = 0; i < b.num_layers; ++i) {
    const std::string layer = "model.layers." + std::to_string(i) + ".";
    auto add = [&](const std::string& name, bool bias) {
      names.push_back(layer + name + ".weight");
      if (bias) names.push_back(layer + name + ".bias");
    };
    if (fused) {
      add("self_attn.qkv_proj", b.attention.qkv_bias);
    } else {
      for (const char* proj : {"q_proj", "k_proj", "v_proj"}) {
        add(std::string("self_attn.") + proj, b.attention.qkv_bias);
      }
    }
    add("self_attn.o_proj", b.attention.output_bias);
    if (b.attention.q_norm) names.push_back(layer + "self_attn.q_norm.weight");
    if (b.attention.k_norm) names.push_back(layer + "self_attn.k_norm.weight");
    // Llama: input and post-attention norms; OLMo 2: post-attention and
    // post-feedforward; Gemma 2/3: all four.
    if (b.norm.before) add("input_layernorm", layer_norm);
    add("post_attention_layernorm", layer_norm);
    if (b.norm.before && b.norm.after) add("pre_feedforward_layernorm", layer_norm);
    if (b.norm.after) add("post_feedforward_layernorm", layer_norm);
    if (b.ffn.kind == "glu" && fused) {
      for (const char* proj : {"mlp.gate_up_proj", "mlp.down_proj"}) add(proj, false);
    } else if (b.ffn.kind == "glu") {
      for (const char* proj : {"mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"}) add(proj, false);
    } else {  // StarCoder 2
      for (const char* proj : {"mlp.c_fc", "mlp.c_proj"}) add(proj, b.ffn.bias);
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
