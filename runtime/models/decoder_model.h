#ifndef MODELHUB_RUNTIME_MODELS_DECODER_MODEL_H_
#define MODELHUB_RUNTIME_MODELS_DECODER_MODEL_H_

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/blueprint/decoder_blueprint.h"
#include "runtime/blueprint/decoder_parameters.h"
#include "runtime/distributed/gang.h"
#include "runtime/nn/attention.h"
#include "runtime/nn/module_options.h"
#include "runtime/nn/rotary_encoder.h"

namespace modelhub {

class Embedding;
class Projection;
class DecoderNorm;
class DecoderLayer;

// State of incremental decoding: per-layer keys/values plus which cached
// positions are real tokens. Obtain one from DecoderModel::NewKvCache().
struct KvCache {
  std::vector<AttentionCache> layers;
  at::Tensor key_padding;  // [B, length] bool; undefined when no padding was given
  int64_t length = 0;      // positions cached so far
};

// The one decoder-only transformer every family builds, from its blueprint.
// Module tree (fairseq2's names, hence its checkpoint names):
//   decoder_frontend.embed.weight
//   decoder.layers.N.{self_attn_layer_norm, self_attn.{q,k,v}_proj,
//     self_attn.{q,k}_norm, self_attn.output_proj, self_attn_post_layer_norm,
//     ffn_layer_norm, ffn.{gate,inner,output}_proj, ffn_post_layer_norm}
//   decoder.layer_norm.{weight,bias}
//   final_proj.weight             (absent with tied embeddings)
// exactly the parameters of DecoderParameterShapes (runtime/blueprint).
//
// Tensor-parallel over a gang of more than one rank (Megatron's layout): each
// rank holds the shards DecoderParameterShards gives it (q/k/v, gate and
// inner projections by output features; attention and FFN output projections
// by input features, their outputs summed over the gang; the embedding table
// and LM head by vocabulary, the logits gathered), norms whole. Every rank
// runs forward with the same inputs and gets the whole logits.
class DecoderModel : public torch::nn::Module {
 public:
  // Validates the blueprint (ConfigError, also for sizes `tp` cannot split)
  // and creates the parameters with `options`; on the meta device nothing is
  // allocated. Before anything is created, a model whose parameters would not
  // fit in this machine's memory (RAM and swap; for a meta model, the
  // bookkeeping of its tensors) is refused with a ConfigError giving its
  // sizes, parameter count and bytes. Parameters held whole are made equal on
  // every rank of `tp` (a collective: every rank creates the model).
  DecoderModel(const DecoderBlueprint& blueprint, const ModuleOptions& options,
               std::shared_ptr<Gang> tp = nullptr);
  ~DecoderModel() override;

  // seqs: [B, S] int64 token ids. padding_mask: [B, S] bool, true for real
  // tokens (undefined: all real); a token's position counts the real tokens
  // before it, so rows of a batch may be padded at the end, or padded during
  // cached decoding once they are done. cache: when given, continues from the
  // slots it holds and extends it.
  // Returns logits [B, S, vocab_size] in the model's dtype. Bad inputs (ids
  // outside the vocabulary, too long a sequence, wrong shapes) throw
  // InvalidModelInputError; LibTorch failures throw TorchError.
  at::Tensor forward(const at::Tensor& seqs, const at::Tensor& padding_mask = {},
                     KvCache* cache = nullptr) const;

  // An empty cache for incremental decoding.
  KvCache NewKvCache() const;

  const DecoderBlueprint& blueprint() const { return blueprint_; }
  // The placement the model was created with.
  const ModuleOptions& options() const { return options_; }
  // The number of parameter elements this rank holds (tied weights counted
  // once).
  int64_t num_parameters() const;
  // The tensor-parallel gang (a FakeGang in one process).
  const std::shared_ptr<Gang>& tp_gang() const { return tp_; }
  // This rank's place in it.
  TensorParallelRank tp_rank() const { return {tp_->rank(), tp_->size()}; }

 private:
  at::Tensor ForwardUnchecked(const at::Tensor& seqs, const at::Tensor& padding_mask,
                              KvCache* cache) const;
  // Makes the parameters every rank holds whole equal to rank 0's.
  void ShareWholeParameters();
  void CheckInputs(const at::Tensor& seqs, const at::Tensor& padding_mask, int64_t start_pos) const;

  DecoderBlueprint blueprint_;
  ModuleOptions options_;
  std::shared_ptr<Gang> tp_;
  RotaryEncoder rope_;
  std::optional<RotaryEncoder> local_rope_;  // of sliding-window layers, when it differs
  std::shared_ptr<Embedding> embed_;
  std::vector<std::shared_ptr<DecoderLayer>> layers_;
  std::unique_ptr<DecoderNorm> layer_norm_;
  std::shared_ptr<Projection> final_proj_;  // null when tied
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_MODELS_DECODER_MODEL_H_
