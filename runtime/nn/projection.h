#ifndef MODELHUB_RUNTIME_NN_PROJECTION_H_
#define MODELHUB_RUNTIME_NN_PROJECTION_H_

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <memory>

#include "runtime/distributed/gang.h"
#include "runtime/nn/module_options.h"

namespace modelhub {

// A linear projection y = x W^T (+ b) with parameters `weight` [output_dim,
// input_dim] and, optionally, `bias` [output_dim]. Initialized uniformly in
// +-1/sqrt(input_dim), like LibTorch's Linear, unless on meta.
//
// Row-parallel when `reduce` is given: the weight holds this rank's slice of
// the input features, and x W^T is summed over the gang before the bias (whole
// on every rank) is added once. Column-parallel needs nothing here: the weight
// holds this rank's output features.
class Projection : public torch::nn::Module {
 public:
  Projection(int64_t input_dim, int64_t output_dim, bool bias, const ModuleOptions& options,
             std::shared_ptr<Gang> reduce = nullptr);

  at::Tensor forward(const at::Tensor& x) const;

  const at::Tensor& weight() const { return weight_; }

 private:
  at::Tensor weight_;
  at::Tensor bias_;               // undefined when there is no bias
  std::shared_ptr<Gang> reduce_;  // null unless row-parallel
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_NN_PROJECTION_H_
