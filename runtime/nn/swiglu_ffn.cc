#include "runtime/nn/swiglu_ffn.h"

namespace modelhub {

SwiGLUFeedForward::SwiGLUFeedForward(const SwiGluOptions& ffn, const ModuleOptions& options) {
  const int64_t model_dim = ffn.model_dim;
  const int64_t inner_dim = ffn.inner_dim;
  gate_proj_ = register_module("gate_proj",
                               std::make_shared<Projection>(model_dim, inner_dim, false, options));
  inner_proj_ = register_module("inner_proj",
                                std::make_shared<Projection>(model_dim, inner_dim, false, options));
  output_proj_ = register_module(
      "output_proj", std::make_shared<Projection>(inner_dim, model_dim, false, options, ffn.gang));
}

at::Tensor SwiGLUFeedForward::forward(const at::Tensor& x) const {
  return output_proj_->forward(at::silu(gate_proj_->forward(x)) * inner_proj_->forward(x));
}

}  // namespace modelhub
