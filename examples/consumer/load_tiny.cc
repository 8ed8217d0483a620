// Loads the built-in `tiny` card by name through modelhub from another Bazel
// workspace (the cards come in as runfiles: data = ["@modelhub//cards"]), then
// generates a few tokens.

#include <iostream>

#include "families/llama/llama.h"
#include "runtime/models/generate.h"

int main() {
  modelhub::LlamaModelHub hub = modelhub::get_llama_model_hub();
  auto model = hub.load_model("tiny");
  std::cout << "tiny: " << model->num_parameters() << " parameters, next tokens:";
  for (int64_t id : modelhub::GenerateGreedy(*model, {1, 2, 3}, 4)) std::cout << " " << id;
  std::cout << "\n";
  return 0;
}
