#include "runtime/models/decoder_model.h"

#include <c10/util/Exception.h>
#include <sys/sysinfo.h>
#include <torch/nn/modules/container/modulelist.h>

#include <cmath>
#include <cstdio>
#include <new>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"
#include "runtime/nn/embedding.h"
#include "runtime/nn/feed_forward.h"
#include "runtime/nn/layer_norm.h"
#include "runtime/nn/projection.h"
#include "runtime/nn/rms_norm.h"

namespace modelhub {

namespace {

// The blocks' options, from the blueprint.
std::optional<RmsNormOptions> QkNormOptions(const DecoderBlueprint& blueprint, bool present,
                                            int64_t heads, int64_t all_heads,
                                            const std::shared_ptr<Gang>& tp) {
  if (!present) return std::nullopt;
  const int64_t head_dim = blueprint.HeadDim();
  RmsNormOptions norm{head_dim, blueprint.norm.eps, blueprint.norm.unit_offset};
  if (!blueprint.attention.qk_norm_per_head) {
    norm.dim = heads * head_dim;
    norm.gang = tp;
    norm.full_dim = all_heads * head_dim;
  }
  return norm;
}

AttentionOptions AttentionOptionsOf(const DecoderBlueprint& blueprint,
                                    const DecoderShardSizes& shard,
                                    const std::shared_ptr<Gang>& tp) {
  const DecoderBlueprint::Attention& attention = blueprint.attention;
  AttentionOptions options;
  options.model_dim = blueprint.model_dim;
  options.num_heads = shard.num_heads;
  options.num_kv_heads = shard.num_kv_heads;
  options.head_dim = blueprint.HeadDim();
  options.qkv_bias = attention.qkv_bias;
  options.output_bias = attention.output_bias;
  options.q_norm =
      QkNormOptions(blueprint, attention.q_norm, shard.num_heads, attention.num_heads, tp);
  options.k_norm =
      QkNormOptions(blueprint, attention.k_norm, shard.num_kv_heads, attention.num_kv_heads, tp);
  options.qk_norm_per_head = attention.qk_norm_per_head;
  options.scale = blueprint.AttentionScale();
  options.logit_softcap = attention.logit_softcap;
  options.gang = tp;
  return options;
}

FeedForwardOptions FeedForwardOptionsOf(const DecoderBlueprint& blueprint,
                                        const DecoderShardSizes& shard,
                                        const std::shared_ptr<Gang>& tp) {
  const DecoderBlueprint::Ffn& ffn = blueprint.ffn;
  return {blueprint.model_dim,
          shard.ffn_inner_dim,
          ffn.kind == "glu",
          ActivationNamed(ffn.activation),
          ffn.bias,
          tp};
}

RotaryOptions RotaryOptionsOf(const DecoderBlueprint& blueprint) {
  return {blueprint.HeadDim(),
          blueprint.rope.theta,
          blueprint.rope.layout,
          blueprint.rope.llama3_scaling,
          blueprint.rope.linear_factor,
          blueprint.RotaryDim(),
          blueprint.rope.longrope_scaling,
          blueprint.RopeAttentionFactor()};
}

// The RoPE of layers attending within the sliding window, when it differs.
std::optional<RotaryEncoder> LocalRotaryEncoder(const DecoderBlueprint& blueprint) {
  if (!blueprint.rope.local_theta) return std::nullopt;
  return RotaryEncoder(RotaryOptions{blueprint.HeadDim(), *blueprint.rope.local_theta,
                                     blueprint.rope.layout, std::nullopt, std::nullopt,
                                     blueprint.RotaryDim()});
}

}  // namespace

// A norm of the blueprint's kind (RMSNorm or LayerNorm), registered with its
// parent under a name; empty when not created.
class DecoderNorm {
 public:
  DecoderNorm() = default;
  DecoderNorm(torch::nn::Module& parent, const std::string& name, const DecoderBlueprint& blueprint,
              const ModuleOptions& options) {
    if (blueprint.norm.kind == "layer") {
      layer_ = parent.register_module(
          name, std::make_shared<LayerNorm>(
                    LayerNormOptions{blueprint.model_dim, blueprint.norm.eps}, options));
    } else {
      rms_ = parent.register_module(
          name, std::make_shared<RMSNorm>(RmsNormOptions{blueprint.model_dim, blueprint.norm.eps,
                                                         blueprint.norm.unit_offset},
                                          options));
    }
  }

  bool defined() const { return rms_ != nullptr || layer_ != nullptr; }
  at::Tensor forward(const at::Tensor& x) const {
    return rms_ != nullptr ? rms_->forward(x) : layer_->forward(x);
  }

 private:
  std::shared_ptr<RMSNorm> rms_;
  std::shared_ptr<LayerNorm> layer_;
};

// A residual block of attention then FFN, each sub-block's input normalized
// (norm.before), its output normalized (norm.after) and scaled by the
// residual multiplier before it is added: x + m * post(attn(pre(x))).
class DecoderLayer : public torch::nn::Module {
 public:
  DecoderLayer(const DecoderBlueprint& blueprint, int64_t index, const DecoderShardSizes& shard,
               const std::shared_ptr<Gang>& tp, const ModuleOptions& options)
      : local_(blueprint.IsLocalLayer(index)), residual_multiplier_(blueprint.residual_multiplier) {
    const bool before = blueprint.norm.before;
    const bool after = blueprint.norm.after;
    if (before)
      self_attn_layer_norm_ = DecoderNorm(*this, "self_attn_layer_norm", blueprint, options);
    self_attn_ = register_module(
        "self_attn",
        std::make_shared<GroupedQueryAttention>(AttentionOptionsOf(blueprint, shard, tp), options));
    if (after) {
      self_attn_post_layer_norm_ =
          DecoderNorm(*this, "self_attn_post_layer_norm", blueprint, options);
    }
    if (before) ffn_layer_norm_ = DecoderNorm(*this, "ffn_layer_norm", blueprint, options);
    ffn_ = register_module(
        "ffn", std::make_shared<FeedForward>(FeedForwardOptionsOf(blueprint, shard, tp), options));
    if (after) ffn_post_layer_norm_ = DecoderNorm(*this, "ffn_post_layer_norm", blueprint, options);
  }

  // Whether the layer attends within the sliding window.
  bool local() const { return local_; }

  at::Tensor forward(const at::Tensor& x, const RotaryEncoder& rope, const RotaryAngles& angles,
                     const at::Tensor& mask, AttentionCache* cache) const {
    at::Tensor h = x + Residual(self_attn_post_layer_norm_,
                                self_attn_->forward(Input(self_attn_layer_norm_, x), rope, angles,
                                                    mask, cache));
    return h + Residual(ffn_post_layer_norm_, ffn_->forward(Input(ffn_layer_norm_, h)));
  }

 private:
  static at::Tensor Input(const DecoderNorm& norm, const at::Tensor& x) {
    return norm.defined() ? norm.forward(x) : x;
  }
  at::Tensor Residual(const DecoderNorm& norm, const at::Tensor& y) const {
    at::Tensor out = norm.defined() ? norm.forward(y) : y;
    return residual_multiplier_ == 1.0 ? out : out * residual_multiplier_;
  }

  bool local_;
  double residual_multiplier_;
  DecoderNorm self_attn_layer_norm_;
  std::shared_ptr<GroupedQueryAttention> self_attn_;
  DecoderNorm self_attn_post_layer_norm_;
  DecoderNorm ffn_layer_norm_;
  std::shared_ptr<FeedForward> ffn_;
  DecoderNorm ffn_post_layer_norm_;
};

namespace {

// Bookkeeping of one parameter tensor of a meta model (the tensor, its module
// and their names): an upper estimate, for refusing absurd layer counts.
constexpr uint64_t kMetaTensorBytes = 4096;

// "1.5 GB".
std::string Gigabytes(double bytes) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.1f GB", bytes / 1e9);
  return text;
}

// Refuses, before anything is created, a model whose parameters (or, on the
// meta device, their bookkeeping) would not fit in RAM and swap. Other
// devices report their own out-of-memory errors (TorchError).
void CheckFitsInMemory(const DecoderBlueprint& blueprint, const ModuleOptions& options,
                       int64_t tp_size) {
  if (!options.meta() && !options.device.is_cpu()) return;
  // A rank holds about 1/tp of the parameters (norms are whole, and small).
  const int64_t count = DecoderParameterCount(blueprint) / tp_size;
  const int64_t tensors = DecoderParameterTensorCount(blueprint);
  // Plus the rotary encoder's frequency table, which is never on the meta device.
  const double bytes = (options.meta() ? static_cast<double>(tensors) * kMetaTensorBytes
                                       : static_cast<double>(count) *
                                             static_cast<double>(c10::elementSize(options.dtype))) +
                       static_cast<double>(blueprint.HeadDim()) * sizeof(double);
  struct sysinfo info {};
  if (::sysinfo(&info) != 0) return;
  const double memory = (static_cast<double>(info.totalram) + static_cast<double>(info.totalswap)) *
                        static_cast<double>(info.mem_unit);
  if (bytes <= memory) return;
  const std::string needs =
      options.meta() ? absl::StrCat(tensors, " parameter tensors, whose bookkeeping alone takes ")
                     : absl::StrCat(count, " parameters, which take ");
  throw ConfigError(
      absl::StrCat(blueprint.family, " decoder"), "", SourceMark{},
      absl::StrCat("a model of model_dim ", blueprint.model_dim, ", num_layers ",
                   blueprint.num_layers, ", vocab_size ", blueprint.vocab_size,
                   " and FFN inner dim ", blueprint.FfnInnerDim(), " has ", needs, Gigabytes(bytes),
                   options.meta() ? "" : absl::StrCat(" as ", c10::toString(options.dtype)),
                   ", more than the ", Gigabytes(memory),
                   " of memory (RAM and swap) of this machine"));
}

// Containers that exist only to give parameters fairseq2's names.
class Frontend : public torch::nn::Module {};
class Decoder : public torch::nn::Module {};

ModuleOptions Checked(const DecoderBlueprint& blueprint, const ModuleOptions& options,
                      TensorParallelRank tp) {
  blueprint.Validate();
  ShardSizesOf(blueprint, tp);
  const c10::ScalarType dtype = options.dtype;
  if (dtype != c10::kFloat && dtype != c10::kBFloat16 && dtype != c10::kHalf &&
      dtype != c10::kDouble) {
    throw InvalidModelInputError(absl::StrCat("cannot create a model with dtype ",
                                              std::string(c10::toString(dtype)),
                                              " (use float32, bfloat16 or float16)"));
  }
  CheckFitsInMemory(blueprint, options, tp.size);
  return options;
}

// `tp`, or a FakeGang on `device` when null.
std::shared_ptr<Gang> GangOrAlone(std::shared_ptr<Gang> tp, c10::Device device) {
  return tp != nullptr ? std::move(tp) : std::make_shared<FakeGang>(device);
}

}  // namespace

DecoderModel::DecoderModel(const DecoderBlueprint& blueprint, const ModuleOptions& options,
                           std::shared_ptr<Gang> tp)
    : blueprint_(blueprint),
      tp_(GangOrAlone(std::move(tp), options.device)),
      rope_(RotaryOptionsOf(blueprint)),
      local_rope_(LocalRotaryEncoder(blueprint)) {
  options_ = Checked(blueprint, options, tp_rank());
  const DecoderShardSizes shard = ShardSizesOf(blueprint, tp_rank());
  try {
    auto frontend = register_module("decoder_frontend", std::make_shared<Frontend>());
    EmbeddingOptions table{shard.vocab_size, blueprint.model_dim, tp_, shard.vocab_start};
    embed_ = frontend->register_module("embed", std::make_shared<Embedding>(table, options));
    auto decoder = register_module("decoder", std::make_shared<Decoder>());
    torch::nn::ModuleList layers;
    for (int64_t i = 0; i < blueprint.num_layers; ++i) {
      layers_.push_back(std::make_shared<DecoderLayer>(blueprint, i, shard, tp_, options));
      layers->push_back(layers_.back());
    }
    decoder->register_module("layers", layers.ptr());
    layer_norm_ = std::make_unique<DecoderNorm>(*decoder, "layer_norm", blueprint, options);
    if (!blueprint.tied_embeddings) {
      final_proj_ = register_module(
          "final_proj",
          std::make_shared<Projection>(blueprint.model_dim, shard.vocab_size, false, options));
    }
    if (tp_->size() > 1 && options.initializes()) ShareWholeParameters();
  } catch (const c10::Error& e) {
    throw TorchError(
        absl::StrCat("creating a ", blueprint.family, " model on ", options.device.str()),
        e.what_without_backtrace());
  } catch (const std::bad_alloc&) {
    throw TorchError(
        absl::StrCat("creating a ", blueprint.family, " model on ", options.device.str()),
        absl::StrCat("out of memory for its ", DecoderParameterCount(blueprint), " parameters"));
  }
}

DecoderModel::~DecoderModel() = default;

void DecoderModel::ShareWholeParameters() {
  at::NoGradGuard no_grad;
  const std::map<std::string, ParameterShard> shards =
      DecoderParameterShards(blueprint_, tp_rank());
  for (auto& item : named_parameters()) {
    if (shards.at(item.key()).dim < 0) tp_->Broadcast(item.value(), 0);
  }
}

KvCache DecoderModel::NewKvCache() const {
  KvCache cache;
  cache.layers.resize(layers_.size());
  return cache;
}

int64_t DecoderModel::num_parameters() const {
  int64_t total = 0;
  for (const at::Tensor& parameter : parameters()) total += parameter.numel();
  return total;
}

void DecoderModel::CheckInputs(const at::Tensor& seqs, const at::Tensor& padding_mask,
                               int64_t start_pos) const {
  if (!seqs.defined() || seqs.dim() != 2 || seqs.scalar_type() != at::kLong) {
    throw InvalidModelInputError("token ids must be a [batch, seq_len] int64 tensor");
  }
  if (seqs.size(1) == 0) throw InvalidModelInputError("no tokens given");
  const int64_t end = start_pos + seqs.size(1);
  if (end > blueprint_.max_seq_len) {
    throw InvalidModelInputError(absl::StrCat(
        "sequence of ", end, " tokens is longer than max_seq_len ", blueprint_.max_seq_len));
  }
  if (embed_->weight().is_meta()) return;  // no values to check
  // One pass and one copy to the host, even on a GPU.
  auto [min, max] = at::aminmax(seqs);
  at::Tensor bounds = at::stack({min, max}).cpu();
  const int64_t low = bounds[0].item<int64_t>();
  const int64_t high = bounds[1].item<int64_t>();
  if (low < 0 || high >= blueprint_.vocab_size) {
    throw InvalidModelInputError(absl::StrCat("token id ", low < 0 ? low : high,
                                              " is outside the vocabulary [0, ",
                                              blueprint_.vocab_size, ")"));
  }
  if (padding_mask.defined() && padding_mask.sizes() != seqs.sizes()) {
    throw InvalidModelInputError("the padding mask must have the shape of the token ids");
  }
}

at::Tensor DecoderModel::forward(const at::Tensor& seqs, const at::Tensor& padding_mask,
                                 KvCache* cache) const {
  const int64_t start_pos = cache != nullptr ? cache->length : 0;
  CheckInputs(seqs, padding_mask, start_pos);
  if (cache != nullptr && cache->layers.size() != layers_.size()) {
    throw InvalidModelInputError("the KV cache was not made by this model");
  }
  try {
    return ForwardUnchecked(seqs, padding_mask, cache);
  } catch (const c10::Error& e) {
    throw TorchError(absl::StrCat("running the ", blueprint_.family, " model"), e.what());
  }
}

at::Tensor DecoderModel::ForwardUnchecked(const at::Tensor& seqs, const at::Tensor& padding_mask,
                                          KvCache* cache) const {
  // Wherever the model is now (it may have been moved with to()).
  const c10::Device device = embed_->weight().device();
  const int64_t batch = seqs.size(0);
  const int64_t seq_len = seqs.size(1);
  const int64_t start_pos = cache != nullptr ? cache->length : 0;
  const int64_t key_len = start_pos + seq_len;
  at::TensorOptions bools = at::TensorOptions().dtype(at::kBool).device(device);

  // Which of all key_len slots hold real tokens; undefined when all do.
  at::Tensor key_padding;
  if (padding_mask.defined() || (cache != nullptr && cache->key_padding.defined())) {
    at::Tensor current = padding_mask.defined() ? padding_mask.to(device, at::kBool)
                                                : at::ones({batch, seq_len}, bools);
    if (start_pos > 0) {
      at::Tensor previous =
          cache->key_padding.defined() ? cache->key_padding : at::ones({batch, start_pos}, bools);
      current = at::cat({previous, current}, 1);
    }
    key_padding = current;
  }
  // Positions, masks and RoPE angles are shared by the layers: computed once,
  // for global layers and for those attending within the sliding window.
  at::Tensor positions = TokenPositions(key_len, key_padding, device);
  const std::optional<int64_t>& window = blueprint_.attention.sliding_window;
  const at::ScalarType dtype = embed_->weight().scalar_type();
  at::Tensor query_positions = positions.slice(1, start_pos).unsqueeze(1);
  // What the layers of one kind share: [0] global layers, [1] local ones.
  struct LayerInputs {
    const RotaryEncoder* rope = nullptr;
    RotaryAngles angles;
    at::Tensor mask;
  } kinds[2];
  for (const auto& layer : layers_) {
    LayerInputs& kind = kinds[layer->local() ? 1 : 0];
    if (kind.rope != nullptr) continue;
    kind.rope = layer->local() && local_rope_ ? &*local_rope_ : &rope_;
    kind.angles = kind.rope->Angles(query_positions, device, dtype);
    kind.mask =
        MakeAttentionMask(seq_len, positions, layer->local() ? window : std::nullopt, key_padding);
  }

  at::Tensor x = embed_->forward(seqs.to(device));
  if (blueprint_.embedding.scale_by_sqrt_dim) {  // the factor rounded to the model's dtype
    x = x * at::scalar_tensor(std::sqrt(static_cast<double>(blueprint_.model_dim)), x.options());
  }
  if (blueprint_.embedding.multiplier != 1.0) x = x * blueprint_.embedding.multiplier;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const LayerInputs& kind = kinds[layers_[i]->local() ? 1 : 0];
    x = layers_[i]->forward(x, *kind.rope, kind.angles, kind.mask,
                            cache != nullptr ? &cache->layers[i] : nullptr);
  }
  x = layer_norm_->forward(x);
  if (cache != nullptr) {
    cache->length = key_len;
    cache->key_padding = key_padding;
  }
  at::Tensor logits = final_proj_ ? final_proj_->forward(x) : at::linear(x, embed_->weight());
  if (tp_->size() > 1) logits = tp_->AllGather(logits, -1);
  if (blueprint_.logits.divisor != 1.0) logits = logits / blueprint_.logits.divisor;
  if (const std::optional<double>& cap = blueprint_.logits.softcap) {
    logits = at::tanh(logits / *cap) * *cap;
  }
  return logits;
}

}  // namespace modelhub
