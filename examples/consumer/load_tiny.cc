// Loads the built-in `tiny` card by name through modelhub from another Bazel
// workspace (the cards come in as runfiles: data = ["@modelhub//cards"]), then
// generates a few tokens. Errors are modelhub::Error, one line each.

#include <iostream>

#include "runtime/core/errors.h"
#include "runtime/hub/model_loader.h"
#include "runtime/models/generate.h"

int main() {
  try {
    auto model = modelhub::load_model("tiny");  // the card says: family llama
    std::cout << "tiny: " << model->num_parameters() << " parameters, next tokens:";
    for (int64_t id : modelhub::GenerateGreedy(*model, {1, 2, 3}, 4)) std::cout << " " << id;
    std::cout << "\n";
  } catch (const modelhub::Error& e) {
    std::cerr << "load_tiny: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
