#ifndef MODELHUB_RUNTIME_NN_RMS_NORM_H_
#define MODELHUB_RUNTIME_NN_RMS_NORM_H_

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "runtime/nn/module_options.h"

namespace modelhub {

// The size and epsilon of an RMSNorm.
struct RmsNormOptions {
  int64_t dim = 0;
  double eps = 1e-6;
};

// Root-mean-square layer normalization over the last dimension, with a learned
// `weight` [dim] initialized to ones. Statistics are computed in float32 and the
// normalized value is cast back before the weight is applied (as Hugging Face
// Llama/Qwen do), so low-precision models match their reference.
class RMSNorm : public torch::nn::Module {
 public:
  RMSNorm(const RmsNormOptions& norm, const ModuleOptions& options);

  at::Tensor forward(const at::Tensor& x) const;

 private:
  at::Tensor weight_;
  double eps_;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_NN_RMS_NORM_H_
