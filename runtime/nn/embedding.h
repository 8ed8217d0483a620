#ifndef MODELHUB_RUNTIME_NN_EMBEDDING_H_
#define MODELHUB_RUNTIME_NN_EMBEDDING_H_

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include "runtime/nn/module_options.h"

namespace modelhub {

// The sizes of an Embedding.
struct EmbeddingOptions {
  int64_t num_embeddings = 0;
  int64_t embedding_dim = 0;
};

// A token embedding table, parameter `weight` [num_embeddings, embedding_dim],
// initialized from N(0, embedding_dim^-0.5) unless on meta.
class Embedding : public torch::nn::Module {
 public:
  Embedding(const EmbeddingOptions& embedding, const ModuleOptions& options);

  // ids: integer tensor of any shape; returns ids.shape + [embedding_dim].
  at::Tensor forward(const at::Tensor& ids) const;

  const at::Tensor& weight() const { return weight_; }

 private:
  at::Tensor weight_;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_NN_EMBEDDING_H_
