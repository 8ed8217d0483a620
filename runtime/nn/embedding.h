#ifndef MODELHUB_RUNTIME_NN_EMBEDDING_H_
#define MODELHUB_RUNTIME_NN_EMBEDDING_H_

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <memory>

#include "runtime/distributed/gang.h"
#include "runtime/nn/module_options.h"

namespace modelhub {

// The sizes of an Embedding.
struct EmbeddingOptions {
  int64_t num_embeddings = 0;  // rows this module holds
  int64_t embedding_dim = 0;
  // Vocabulary-parallel when `gang` is given: this module holds the rows of ids
  // [first_id, first_id + num_embeddings) of a table split over the gang.
  std::shared_ptr<Gang> gang = nullptr;
  int64_t first_id = 0;
};

// A token embedding table, parameter `weight` [num_embeddings, embedding_dim],
// initialized from N(0, embedding_dim^-0.5) unless on meta. Vocabulary-parallel
// (Megatron): each rank embeds the ids it holds, zeros for the others, and the
// gang sums them.
class Embedding : public torch::nn::Module {
 public:
  Embedding(const EmbeddingOptions& embedding, const ModuleOptions& options);

  // ids: integer tensor of any shape; returns ids.shape + [embedding_dim].
  at::Tensor forward(const at::Tensor& ids) const;

  const at::Tensor& weight() const { return weight_; }

 private:
  at::Tensor weight_;
  std::shared_ptr<Gang> gang_;  // null unless vocabulary-parallel
  int64_t first_id_ = 0;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_NN_EMBEDDING_H_
