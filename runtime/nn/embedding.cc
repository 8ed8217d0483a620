#include "runtime/nn/embedding.h"

#include <cmath>

namespace modelhub {

Embedding::Embedding(const EmbeddingOptions& embedding, const ModuleOptions& options) {
  weight_ = register_parameter(
      "weight",
      at::empty({embedding.num_embeddings, embedding.embedding_dim}, options.tensor_options()));
  if (options.initializes()) {
    at::NoGradGuard no_grad;
    weight_.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(embedding.embedding_dim)));
  }
}

at::Tensor Embedding::forward(const at::Tensor& ids) const { return at::embedding(weight_, ids); }

}  // namespace modelhub
