#include "tools/cli/demo_model.h"

#include "families/qwen/qwen.h"

namespace modelhub::cli {

QwenConfig DemoConfig() {
  QwenConfig config = get_qwen_model_hub().get_arch_config("qwen3_0.6b");
  config.model_dim = 256;
  config.num_layers = 4;
  config.num_attn_heads = 4;
  config.num_key_value_heads = 2;
  config.head_dim = 64;
  config.ffn_inner_dim = 768;
  config.vocab_size = 4096;
  config.max_seq_len = 1024;
  return config;
}

}  // namespace modelhub::cli
