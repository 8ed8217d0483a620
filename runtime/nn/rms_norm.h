#ifndef MODELHUB_RUNTIME_NN_RMS_NORM_H_
#define MODELHUB_RUNTIME_NN_RMS_NORM_H_

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <memory>

#include "runtime/distributed/gang.h"
#include "runtime/nn/module_options.h"

namespace modelhub {

// The size, epsilon and variant of an RMSNorm.
struct RmsNormOptions {
  int64_t dim = 0;  // the features this module holds (its weight's size)
  double eps = 1e-6;
  // Scales by 1 + weight, in float32; the weight starts at zeros.
  bool unit_offset = false;
  // Normalizes over features sharded across a tensor-parallel gang when given
  // (more than one rank): the mean square is summed over the gang and divided
  // by `full_dim`, the features of all ranks together.
  std::shared_ptr<Gang> gang = nullptr;
  int64_t full_dim = 0;
};

// Root-mean-square layer normalization over the last dimension, with a learned
// `weight` [dim] initialized to the identity. Statistics are computed in
// float32; the normalized value is cast back before the weight is applied (as
// Hugging Face Llama/Qwen do), or, with unit_offset, after (in float32), so
// low-precision models match their reference.
class RMSNorm : public torch::nn::Module {
 public:
  RMSNorm(const RmsNormOptions& norm, const ModuleOptions& options);

  at::Tensor forward(const at::Tensor& x) const;

 private:
  at::Tensor weight_;
  double eps_;
  bool unit_offset_;
  std::shared_ptr<Gang> gang_;  // null unless sharded over more than one rank
  int64_t full_dim_;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_NN_RMS_NORM_H_
