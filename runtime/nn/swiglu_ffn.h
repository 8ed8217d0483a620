#ifndef MODELHUB_RUNTIME_NN_SWIGLU_FFN_H_
#define MODELHUB_RUNTIME_NN_SWIGLU_FFN_H_

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <memory>

#include "runtime/nn/module_options.h"
#include "runtime/nn/projection.h"

namespace modelhub {

// The SwiGLU feed-forward block: output_proj(silu(gate_proj(x)) * inner_proj(x)),
// with fairseq2's module names (Hugging Face's gate/up/down projections).
class SwiGLUFeedForward : public torch::nn::Module {
 public:
  SwiGLUFeedForward(int64_t model_dim, int64_t inner_dim, const ModuleOptions& options);

  at::Tensor forward(const at::Tensor& x) const;

 private:
  std::shared_ptr<Projection> gate_proj_;
  std::shared_ptr<Projection> inner_proj_;
  std::shared_ptr<Projection> output_proj_;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_NN_SWIGLU_FFN_H_
