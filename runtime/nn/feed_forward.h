#ifndef MODELHUB_RUNTIME_NN_FEED_FORWARD_H_
#define MODELHUB_RUNTIME_NN_FEED_FORWARD_H_

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <memory>
#include <string>

#include "runtime/distributed/gang.h"
#include "runtime/nn/module_options.h"
#include "runtime/nn/projection.h"

namespace modelhub {

// An elementwise activation function, by its Hugging Face (ACT2FN) name.
enum class Activation {
  kSilu,      // "silu"
  kGelu,      // "gelu": the exact, erf-based GELU
  kGeluTanh,  // "gelu_pytorch_tanh": GELU's tanh approximation
};

// The activation named `name`; throws std::invalid_argument for another name
// (the decoder blueprint's validation lists the names first).
Activation ActivationNamed(const std::string& name);

// Applies `activation` to `x`.
at::Tensor Activate(Activation activation, const at::Tensor& x);

// The shape of a FeedForward.
struct FeedForwardOptions {
  int64_t model_dim = 0;
  int64_t inner_dim = 0;  // the features this module holds
  // Gated (GLU: SwiGLU with SiLU, GeGLU with GELU) or a plain two-layer MLP.
  bool gated = true;
  Activation activation = Activation::kSilu;
  bool bias = false;  // biases on every projection
  // Tensor-parallel when given: gate and inner projections hold this rank's
  // inner features (column-parallel), output_proj reduces over the gang
  // (row-parallel) and adds its bias once, after the reduction.
  std::shared_ptr<Gang> gang = nullptr;
};

// The feed-forward block with fairseq2's module names: gated,
// output_proj(act(gate_proj(x)) * inner_proj(x)) (Hugging Face's gate/up/down
// projections), or plain, output_proj(act(inner_proj(x))) (GPT-style
// c_fc/c_proj).
class FeedForward : public torch::nn::Module {
 public:
  FeedForward(const FeedForwardOptions& ffn, const ModuleOptions& options);

  at::Tensor forward(const at::Tensor& x) const;

 private:
  Activation activation_;
  std::shared_ptr<Projection> gate_proj_;  // null when not gated
  std::shared_ptr<Projection> inner_proj_;
  std::shared_ptr<Projection> output_proj_;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_NN_FEED_FORWARD_H_
