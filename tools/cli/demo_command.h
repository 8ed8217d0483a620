#ifndef MODELHUB_TOOLS_CLI_DEMO_COMMAND_H_
#define MODELHUB_TOOLS_CLI_DEMO_COMMAND_H_

#include <ostream>
#include <string>

namespace modelhub::cli {

// `modelhub demo`: loads the built-in `tiny` card's model by name, runs one
// forward pass and a greedy generation with the KV cache, and reports each
// step with its timing. `device` and `dtype` as for LibTorch ("cpu",
// "cuda:0"; "float32", "bfloat16", "float16"). Under torchrun (or --nproc)
// the model runs tensor-parallel over the ranks and rank 0 reports.
void RunDemo(const std::string& device, const std::string& dtype, std::ostream& out);

}  // namespace modelhub::cli

#endif  // MODELHUB_TOOLS_CLI_DEMO_COMMAND_H_
