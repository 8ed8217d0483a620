#include "runtime/nn/rms_norm.h"

namespace modelhub {

RMSNorm::RMSNorm(const RmsNormOptions& norm, const ModuleOptions& options) : eps_(norm.eps) {
  weight_ = register_parameter("weight", at::empty({norm.dim}, options.tensor_options()));
  if (options.initializes()) {
    at::NoGradGuard no_grad;
    weight_.fill_(1.0);
  }
}

at::Tensor RMSNorm::forward(const at::Tensor& x) const {
  at::Tensor x32 = x.to(at::kFloat);
  at::Tensor normalized = x32 * at::rsqrt(x32.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  return weight_ * normalized.to(x.scalar_type());
}

}  // namespace modelhub
