#include "runtime/nn/embedding.h"

#include <cmath>

namespace modelhub {

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, const ModuleOptions& options) {
  weight_ = register_parameter(
      "weight", at::empty({num_embeddings, embedding_dim}, options.tensor_options()));
  if (options.initializes()) {
    at::NoGradGuard no_grad;
    weight_.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(embedding_dim)));
  }
}

at::Tensor Embedding::forward(const at::Tensor& ids) const { return at::embedding(weight_, ids); }

}  // namespace modelhub
