#ifndef MODELHUB_RUNTIME_NN_LAYER_NORM_H_
#define MODELHUB_RUNTIME_NN_LAYER_NORM_H_

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "runtime/nn/module_options.h"

namespace modelhub {

// The size and epsilon of a LayerNorm.
struct LayerNormOptions {
  int64_t dim = 0;
  double eps = 1e-5;
};

// Layer normalization over the last dimension (mean and variance, as
// torch.nn.LayerNorm) with a learned `weight` [dim] (ones) and `bias` [dim]
// (zeros), computed in the input's dtype as PyTorch's LayerNorm does.
class LayerNorm : public torch::nn::Module {
 public:
  LayerNorm(const LayerNormOptions& norm, const ModuleOptions& options);

  at::Tensor forward(const at::Tensor& x) const;

 private:
  at::Tensor weight_;
  at::Tensor bias_;
  LayerNormOptions norm_;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_NN_LAYER_NORM_H_
