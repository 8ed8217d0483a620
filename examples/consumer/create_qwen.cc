// Creates a Qwen model through modelhub from another Bazel workspace: the whole
// meta-device qwen25_7b, then a tiny real one that runs a forward pass.

#include <ATen/ATen.h>

#include <iostream>

#include "families/qwen/qwen.h"

int main() {
  modelhub::QwenModelHub hub = modelhub::get_qwen_model_hub();

  modelhub::QwenConfig config = hub.get_arch_config("qwen25_7b");
  auto meta_model = hub.create_new_model(config, modelhub::ModelPlacement::Meta());
  std::cout << "qwen25_7b parameters: " << meta_model->num_parameters() << "\n";

  config.model_dim = 64;
  config.num_layers = 2;
  config.num_attn_heads = 4;
  config.num_key_value_heads = 2;
  config.ffn_inner_dim = 128;
  config.vocab_size = 100;
  auto model = hub.create_new_model(config);
  at::Tensor logits = model->forward(at::arange(8, at::kLong).unsqueeze(0));
  std::cout << "tiny model logits: [" << logits.size(0) << ", " << logits.size(1) << ", "
            << logits.size(2) << "]\n";
  return 0;
}
