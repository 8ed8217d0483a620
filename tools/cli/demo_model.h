#ifndef MODELHUB_TOOLS_CLI_DEMO_MODEL_H_
#define MODELHUB_TOOLS_CLI_DEMO_MODEL_H_

#include "families/qwen/qwen_config.h"

namespace modelhub::cli {

// The small model `modelhub demo` runs (and bench/ measures): the qwen3_0.6b
// preset narrowed to model_dim 256, 4 layers, 4 query / 2 key-value heads of 64,
// SwiGLU width 768, vocabulary 4096, max_seq_len 1024.
QwenConfig DemoConfig();

}  // namespace modelhub::cli

#endif  // MODELHUB_TOOLS_CLI_DEMO_MODEL_H_
