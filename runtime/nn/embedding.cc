#include "runtime/nn/embedding.h"

#include <cmath>

namespace modelhub {

Embedding::Embedding(const EmbeddingOptions& embedding, const ModuleOptions& options)
    : gang_(embedding.gang != nullptr && embedding.gang->size() > 1 ? embedding.gang : nullptr),
      first_id_(embedding.first_id) {
  weight_ = register_parameter(
      "weight",
      at::empty({embedding.num_embeddings, embedding.embedding_dim}, options.tensor_options()));
  if (options.initializes()) {
    at::NoGradGuard no_grad;
    weight_.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(embedding.embedding_dim)));
  }
}

at::Tensor Embedding::forward(const at::Tensor& ids) const {
  if (gang_ == nullptr) return at::embedding(weight_, ids);
  at::Tensor local = ids - first_id_;
  at::Tensor held = (local >= 0) & (local < weight_.size(0));
  at::Tensor embedded =
      at::embedding(weight_, local.clamp(0, weight_.size(0) - 1)) * held.unsqueeze(-1);
  gang_->AllReduceSum(embedded);
  return embedded;
}

}  // namespace modelhub
