#include "runtime/blueprint/decoder_parameters.h"

#include <optional>
#include <stdexcept>
#include <string_view>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

using Shape = std::vector<int64_t>;

[[noreturn]] void ThrowTooLarge(const DecoderBlueprint& blueprint, const char* what) {
  throw ConfigError(absl::StrCat(blueprint.family, " decoder"), "", SourceMark{},
                    absl::StrCat(what, " overflows a 64-bit integer (model_dim ",
                                 blueprint.model_dim, ", num_layers ", blueprint.num_layers,
                                 ", vocab_size ", blueprint.vocab_size, ")"));
}

int64_t Multiply(const DecoderBlueprint& blueprint, const char* what, int64_t a, int64_t b) {
  int64_t product = 0;
  if (__builtin_mul_overflow(a, b, &product)) ThrowTooLarge(blueprint, what);
  return product;
}

int64_t Add(const DecoderBlueprint& blueprint, const char* what, int64_t a, int64_t b) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) ThrowTooLarge(blueprint, what);
  return sum;
}

// Validates `blueprint` and computes its sizes.
DecoderSizes SizesOf(const DecoderBlueprint& blueprint) {
  blueprint.Validate();
  DecoderSizes sizes;
  sizes.model_dim = blueprint.model_dim;
  sizes.vocab_size = blueprint.vocab_size;
  sizes.head_dim = blueprint.HeadDim();
  sizes.q_dim =
      Multiply(blueprint, "num_heads x head_dim", blueprint.attention.num_heads, sizes.head_dim);
  sizes.kv_dim = Multiply(blueprint, "num_kv_heads x head_dim", blueprint.attention.num_kv_heads,
                          sizes.head_dim);
  sizes.ffn_inner_dim = blueprint.FfnInnerDim();
  if (sizes.ffn_inner_dim <= 0) {
    throw ConfigError(absl::StrCat(blueprint.family, " decoder"), "ffn.inner_dim", SourceMark{},
                      absl::StrCat("the FFN inner dim must be positive, is ", sizes.ffn_inner_dim));
  }
  return sizes;
}

Shape Model(const DecoderSizes& s) { return {s.model_dim}; }
Shape Head(const DecoderSizes& s) { return {s.head_dim}; }
Shape Q(const DecoderSizes& s) { return {s.q_dim}; }
Shape Kv(const DecoderSizes& s) { return {s.kv_dim}; }
Shape Inner(const DecoderSizes& s) { return {s.ffn_inner_dim}; }
Shape VocabByModel(const DecoderSizes& s) { return {s.vocab_size, s.model_dim}; }
Shape QByModel(const DecoderSizes& s) { return {s.q_dim, s.model_dim}; }
Shape KvByModel(const DecoderSizes& s) { return {s.kv_dim, s.model_dim}; }
Shape ModelByQ(const DecoderSizes& s) { return {s.model_dim, s.q_dim}; }
Shape InnerByModel(const DecoderSizes& s) { return {s.ffn_inner_dim, s.model_dim}; }
Shape ModelByInner(const DecoderSizes& s) { return {s.model_dim, s.ffn_inner_dim}; }

// Sums `measure(parameter)` over the parameters of `blueprint`, per-layer ones
// once per layer.
template <typename Measure>
int64_t SumOver(const DecoderBlueprint& blueprint, const char* what, Measure measure) {
  int64_t outer = 0;
  int64_t layer = 0;
  for (const DecoderParameter& parameter : DecoderParameterList()) {
    if (!HasParameter(blueprint, parameter)) continue;
    int64_t& sum = parameter.per_layer() ? layer : outer;
    sum = Add(blueprint, what, sum, measure(parameter));
  }
  return Add(blueprint, what, outer, Multiply(blueprint, what, blueprint.num_layers, layer));
}

}  // namespace

bool DecoderParameter::per_layer() const {
  return std::string_view(name).find("{i}") != std::string_view::npos;
}

std::string SettingText(const DecoderBlueprint& blueprint, std::string_view key) {
  std::optional<std::string> value;
  VisitDecoderSettings(
      [&](const DecoderSetting& setting, const auto& member) {
        using Member = std::decay_t<decltype(member)>;
        if (key != setting.key) return;
        if constexpr (std::is_same_v<Member, bool>) {
          value = member ? "true" : "false";
        } else if constexpr (std::is_same_v<Member, std::string>) {
          value = member;
        }
      },
      blueprint);
  if (!value) {
    throw std::logic_error(
        absl::StrCat("no bool or string decoder setting '", std::string(key), "'"));
  }
  return *value;
}

const std::vector<DecoderParameter>& DecoderParameterList() {
  using A = ShardAxis;
  // Conditions, by the setting values that create parameters.
  const ParameterCondition before{"norm.before", "true"};
  const ParameterCondition after{"norm.after", "true"};
  const ParameterCondition layer_norm{"norm.kind", "layer"};
  const ParameterCondition qkv_bias{"attention.qkv_bias", "true"};
  const ParameterCondition q_norm{"attention.q_norm", "true"};
  const ParameterCondition k_norm{"attention.k_norm", "true"};
  const ParameterCondition per_head{"attention.qk_norm_per_head", "true"};
  const ParameterCondition whole_width{"attention.qk_norm_per_head", "false"};
  const ParameterCondition gated{"ffn.kind", "glu"};
  const ParameterCondition ffn_bias{"ffn.bias", "true"};
  static const std::vector<DecoderParameter> kList = {
      {"decoder_frontend.embed.weight", {}, VocabByModel, A::kVocab, 0},
      {"decoder.layers.{i}.self_attn_layer_norm.weight", {before}, Model},
      {"decoder.layers.{i}.self_attn_layer_norm.bias", {before, layer_norm}, Model},
      {"decoder.layers.{i}.self_attn.q_proj.weight", {}, QByModel, A::kHeads, 0},
      {"decoder.layers.{i}.self_attn.q_proj.bias", {qkv_bias}, Q, A::kHeads, 0},
      {"decoder.layers.{i}.self_attn.k_proj.weight", {}, KvByModel, A::kKvHeads, 0},
      {"decoder.layers.{i}.self_attn.k_proj.bias", {qkv_bias}, Kv, A::kKvHeads, 0},
      {"decoder.layers.{i}.self_attn.v_proj.weight", {}, KvByModel, A::kKvHeads, 0},
      {"decoder.layers.{i}.self_attn.v_proj.bias", {qkv_bias}, Kv, A::kKvHeads, 0},
      {"decoder.layers.{i}.self_attn.q_norm.weight", {q_norm, per_head}, Head},
      {"decoder.layers.{i}.self_attn.q_norm.weight", {q_norm, whole_width}, Q, A::kHeads, 0},
      {"decoder.layers.{i}.self_attn.k_norm.weight", {k_norm, per_head}, Head},
      {"decoder.layers.{i}.self_attn.k_norm.weight", {k_norm, whole_width}, Kv, A::kKvHeads, 0},
      {"decoder.layers.{i}.self_attn.output_proj.weight", {}, ModelByQ, A::kHeads, 1},
      {"decoder.layers.{i}.self_attn.output_proj.bias", {{"attention.output_bias", "true"}}, Model},
      {"decoder.layers.{i}.self_attn_post_layer_norm.weight", {after}, Model},
      {"decoder.layers.{i}.self_attn_post_layer_norm.bias", {after, layer_norm}, Model},
      {"decoder.layers.{i}.ffn_layer_norm.weight", {before}, Model},
      {"decoder.layers.{i}.ffn_layer_norm.bias", {before, layer_norm}, Model},
      {"decoder.layers.{i}.ffn.gate_proj.weight", {gated}, InnerByModel, A::kFfnInner, 0},
      {"decoder.layers.{i}.ffn.gate_proj.bias", {gated, ffn_bias}, Inner, A::kFfnInner, 0},
      {"decoder.layers.{i}.ffn.inner_proj.weight", {}, InnerByModel, A::kFfnInner, 0},
      {"decoder.layers.{i}.ffn.inner_proj.bias", {ffn_bias}, Inner, A::kFfnInner, 0},
      {"decoder.layers.{i}.ffn.output_proj.weight", {}, ModelByInner, A::kFfnInner, 1},
      {"decoder.layers.{i}.ffn.output_proj.bias", {ffn_bias}, Model},
      {"decoder.layers.{i}.ffn_post_layer_norm.weight", {after}, Model},
      {"decoder.layers.{i}.ffn_post_layer_norm.bias", {after, layer_norm}, Model},
      {"decoder.layer_norm.weight", {}, Model},
      {"decoder.layer_norm.bias", {layer_norm}, Model},
      {"final_proj.weight", {{"tied_embeddings", "false"}}, VocabByModel, A::kVocab, 0},
  };
  return kList;
}

bool HasParameter(const DecoderBlueprint& blueprint, const DecoderParameter& parameter) {
  for (const ParameterCondition& condition : parameter.conditions) {
    if (SettingText(blueprint, condition.setting) != condition.value) return false;
  }
  return true;
}

// Calls `visit(name, parameter)` for every parameter of a model of
// `blueprint`, per-layer ones once per layer with the index in the name.
template <typename Visit>
void ForEachParameter(const DecoderBlueprint& blueprint, Visit visit) {
  for (const DecoderParameter& parameter : DecoderParameterList()) {
    if (!HasParameter(blueprint, parameter)) continue;
    if (!parameter.per_layer()) {
      visit(std::string(parameter.name), parameter);
      continue;
    }
    for (int64_t i = 0; i < blueprint.num_layers; ++i) {
      visit(absl::StrReplaceAll(parameter.name, {{"{i}", absl::StrCat(i)}}), parameter);
    }
  }
}

std::map<std::string, std::vector<int64_t>> DecoderParameterShapes(
    const DecoderBlueprint& blueprint) {
  const DecoderSizes sizes = SizesOf(blueprint);
  std::map<std::string, std::vector<int64_t>> shapes;
  ForEachParameter(blueprint, [&](std::string name, const DecoderParameter& parameter) {
    shapes.emplace(std::move(name), parameter.shape(sizes));
  });
  return shapes;
}

DecoderShardSizes ShardSizesOf(const DecoderBlueprint& blueprint, TensorParallelRank tp) {
  const DecoderSizes sizes = SizesOf(blueprint);
  const int64_t n = tp.size;
  const auto refuse = [&](const char* field, const char* name, int64_t value,
                          const std::string& why) {
    throw ConfigError(absl::StrCat(blueprint.family, " decoder"), field, SourceMark{},
                      absl::StrCat(name, " ", value, " cannot be split over ", n,
                                   " tensor-parallel ranks: ", why));
  };
  const auto divisible = [&](const char* field, const char* name, int64_t value) {
    if (value % n != 0) refuse(field, name, value, absl::StrCat("it is not divisible by ", n));
    return value / n;
  };
  DecoderShardSizes shard;
  shard.num_heads = divisible("attention.num_heads", "num_heads", blueprint.attention.num_heads);
  const int64_t kv_heads = blueprint.attention.num_kv_heads;
  if (kv_heads >= n) {
    shard.num_kv_heads = divisible("attention.num_kv_heads", "num_kv_heads", kv_heads);
    shard.first_kv_head = tp.rank * shard.num_kv_heads;
  } else {
    if (n % kv_heads != 0) {
      refuse("attention.num_kv_heads", "num_kv_heads", kv_heads,
             absl::StrCat("fewer KV heads than ranks are shared only when they divide ", n));
    }
    if (blueprint.attention.k_norm && !blueprint.attention.qk_norm_per_head) {
      refuse("attention.num_kv_heads", "num_kv_heads", kv_heads,
             "a k norm over the whole width needs every rank to hold KV heads of its own");
    }
    shard.num_kv_heads = 1;
    shard.first_kv_head = tp.rank / (n / kv_heads);
  }
  shard.ffn_inner_dim = divisible("ffn.inner_dim", "the FFN inner dim", sizes.ffn_inner_dim);
  shard.vocab_size = divisible("vocab_size", "vocab_size", blueprint.vocab_size);
  shard.vocab_start = tp.rank * shard.vocab_size;
  return shard;
}

std::map<std::string, ParameterShard> DecoderParameterShards(const DecoderBlueprint& blueprint,
                                                             TensorParallelRank tp) {
  const DecoderSizes sizes = SizesOf(blueprint);
  const DecoderShardSizes shard = ShardSizesOf(blueprint, tp);
  std::map<std::string, ParameterShard> shards;
  ForEachParameter(blueprint, [&](std::string name, const DecoderParameter& parameter) {
    ParameterShard& held = shards[std::move(name)];
    held.shape = parameter.shape(sizes);
    int64_t start = 0;
    int64_t length = 0;
    switch (parameter.shard_axis) {
      case ShardAxis::kReplicated:
        return;
      case ShardAxis::kHeads:
        start = tp.rank * shard.num_heads * sizes.head_dim;
        length = shard.num_heads * sizes.head_dim;
        break;
      case ShardAxis::kKvHeads:
        start = shard.first_kv_head * sizes.head_dim;
        length = shard.num_kv_heads * sizes.head_dim;
        break;
      case ShardAxis::kFfnInner:
        start = tp.rank * shard.ffn_inner_dim;
        length = shard.ffn_inner_dim;
        break;
      case ShardAxis::kVocab:
        start = shard.vocab_start;
        length = shard.vocab_size;
        break;
    }
    if (tp.size == 1) return;
    held.dim = parameter.shard_dim;
    held.start = start;
    held.length = length;
    held.shape[parameter.shard_dim] = length;
  });
  return shards;
}

int64_t DecoderParameterCount(const DecoderBlueprint& blueprint) {
  const DecoderSizes sizes = SizesOf(blueprint);
  return SumOver(blueprint, "the parameter count", [&](const DecoderParameter& parameter) {
    int64_t numel = 1;
    for (int64_t size : parameter.shape(sizes)) {
      numel = Multiply(blueprint, "the parameter count", numel, size);
    }
    return numel;
  });
}

int64_t DecoderParameterTensorCount(const DecoderBlueprint& blueprint) {
  SizesOf(blueprint);
  return SumOver(blueprint, "the tensor count", [](const DecoderParameter&) { return 1; });
}

}  // namespace modelhub
