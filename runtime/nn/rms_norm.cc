#include "runtime/nn/rms_norm.h"

namespace modelhub {

RMSNorm::RMSNorm(const RmsNormOptions& norm, const ModuleOptions& options)
    : eps_(norm.eps),
      unit_offset_(norm.unit_offset),
      gang_(norm.gang != nullptr && norm.gang->size() > 1 ? norm.gang : nullptr),
      full_dim_(norm.full_dim) {
  weight_ = register_parameter("weight", at::empty({norm.dim}, options.tensor_options()));
  if (options.initializes()) {
    at::NoGradGuard no_grad;
    weight_.fill_(unit_offset_ ? 0.0 : 1.0);
  }
}

at::Tensor RMSNorm::forward(const at::Tensor& x) const {
  at::Tensor x32 = x.to(at::kFloat);
  at::Tensor mean_square;
  if (gang_ == nullptr) {
    mean_square = x32.pow(2).mean(-1, /*keepdim=*/true);
  } else {
    at::Tensor sum = x32.pow(2).sum(-1, /*keepdim=*/true);
    gang_->AllReduceSum(sum);
    mean_square = sum / static_cast<double>(full_dim_);
  }
  at::Tensor normalized = x32 * at::rsqrt(mean_square + eps_);
  if (unit_offset_) return (normalized * (1.0 + weight_.to(at::kFloat))).to(x.scalar_type());
  return weight_ * normalized.to(x.scalar_type());
}

}  // namespace modelhub
