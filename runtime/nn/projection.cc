#include "runtime/nn/projection.h"

#include <cmath>

namespace modelhub {

Projection::Projection(int64_t input_dim, int64_t output_dim, bool bias,
                       const ModuleOptions& options, std::shared_ptr<Gang> reduce)
    : reduce_(reduce != nullptr && reduce->size() > 1 ? std::move(reduce) : nullptr) {
  weight_ =
      register_parameter("weight", at::empty({output_dim, input_dim}, options.tensor_options()));
  if (bias) bias_ = register_parameter("bias", at::empty({output_dim}, options.tensor_options()));
  if (options.initializes()) {
    at::NoGradGuard no_grad;
    const double bound = 1.0 / std::sqrt(static_cast<double>(input_dim));
    weight_.uniform_(-bound, bound);
    if (bias) bias_.uniform_(-bound, bound);
  }
}

at::Tensor Projection::forward(const at::Tensor& x) const {
  if (reduce_ == nullptr) return at::linear(x, weight_, bias_);
  at::Tensor y = at::linear(x, weight_);
  reduce_->AllReduceSum(y);
  return bias_.defined() ? y + bias_ : y;
}

}  // namespace modelhub
