#include "runtime/nn/layer_norm.h"

namespace modelhub {

LayerNorm::LayerNorm(const LayerNormOptions& norm, const ModuleOptions& options) : norm_(norm) {
  weight_ = register_parameter("weight", at::empty({norm.dim}, options.tensor_options()));
  bias_ = register_parameter("bias", at::empty({norm.dim}, options.tensor_options()));
  if (options.initializes()) {
    at::NoGradGuard no_grad;
    weight_.fill_(1.0);
    bias_.fill_(0.0);
  }
}

at::Tensor LayerNorm::forward(const at::Tensor& x) const {
  return at::layer_norm(x, {norm_.dim}, weight_, bias_, norm_.eps);
}

}  // namespace modelhub
