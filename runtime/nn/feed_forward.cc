#include "runtime/nn/feed_forward.h"

#include <stdexcept>

namespace modelhub {

Activation ActivationNamed(const std::string& name) {
  if (name == "silu") return Activation::kSilu;
  if (name == "gelu") return Activation::kGelu;
  if (name == "gelu_pytorch_tanh") return Activation::kGeluTanh;
  throw std::invalid_argument("unknown activation '" + name + "'");
}

at::Tensor Activate(Activation activation, const at::Tensor& x) {
  switch (activation) {
    case Activation::kSilu:
      return at::silu(x);
    case Activation::kGelu:
      return at::gelu(x);
    case Activation::kGeluTanh:
      return at::gelu(x, "tanh");
  }
  return x;
}

FeedForward::FeedForward(const FeedForwardOptions& ffn, const ModuleOptions& options)
    : activation_(ffn.activation) {
  const int64_t model_dim = ffn.model_dim;
  const int64_t inner_dim = ffn.inner_dim;
  if (ffn.gated) {
    gate_proj_ = register_module(
        "gate_proj", std::make_shared<Projection>(model_dim, inner_dim, ffn.bias, options));
  }
  inner_proj_ = register_module(
      "inner_proj", std::make_shared<Projection>(model_dim, inner_dim, ffn.bias, options));
  output_proj_ = register_module(
      "output_proj",
      std::make_shared<Projection>(inner_dim, model_dim, ffn.bias, options, ffn.gang));
}

at::Tensor FeedForward::forward(const at::Tensor& x) const {
  if (gate_proj_ == nullptr) {
    return output_proj_->forward(Activate(activation_, inner_proj_->forward(x)));
  }
  return output_proj_->forward(Activate(activation_, gate_proj_->forward(x)) *
                               inner_proj_->forward(x));
}

}  // namespace modelhub
