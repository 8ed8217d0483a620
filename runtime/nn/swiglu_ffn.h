#ifndef MODELHUB_RUNTIME_NN_SWIGLU_FFN_H_
#define MODELHUB_RUNTIME_NN_SWIGLU_FFN_H_

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <memory>

#include "runtime/distributed/gang.h"
#include "runtime/nn/module_options.h"
#include "runtime/nn/projection.h"

namespace modelhub {

// The sizes of a SwiGLUFeedForward.
struct SwiGluOptions {
  int64_t model_dim = 0;
  int64_t inner_dim = 0;  // the features this module holds
  // Tensor-parallel when given: gate and inner projections hold this rank's
  // inner features (column-parallel), output_proj reduces over the gang
  // (row-parallel).
  std::shared_ptr<Gang> gang = nullptr;
};

// The SwiGLU feed-forward block: output_proj(silu(gate_proj(x)) * inner_proj(x)),
// with fairseq2's module names (Hugging Face's gate/up/down projections).
class SwiGLUFeedForward : public torch::nn::Module {
 public:
  SwiGLUFeedForward(const SwiGluOptions& ffn, const ModuleOptions& options);

  at::Tensor forward(const at::Tensor& x) const;

 private:
  std::shared_ptr<Projection> gate_proj_;
  std::shared_ptr<Projection> inner_proj_;
  std::shared_ptr<Projection> output_proj_;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_NN_SWIGLU_FFN_H_
