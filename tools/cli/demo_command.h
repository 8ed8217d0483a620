#ifndef MODELHUB_TOOLS_CLI_DEMO_COMMAND_H_
#define MODELHUB_TOOLS_CLI_DEMO_COMMAND_H_

#include <ostream>
#include <string>

namespace modelhub::cli {

// `modelhub demo`: creates a small Qwen 3 model derived from the qwen3_0.6b
// preset, runs one forward pass and a greedy generation with the KV cache, and
// reports each step with its timing. `device` and `dtype` as for LibTorch
// ("cpu", "cuda:0"; "float32", "bfloat16", "float16").
void RunDemo(const std::string& device, const std::string& dtype, std::ostream& out);

}  // namespace modelhub::cli

#endif  // MODELHUB_TOOLS_CLI_DEMO_COMMAND_H_
