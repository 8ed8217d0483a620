#include "runtime/models/decoder_blueprint.h"

#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

void Require(const DecoderBlueprint& blueprint, bool ok, const char* field,
             const std::string& reason) {
  if (!ok) {
    throw ConfigError(absl::StrCat(blueprint.family, " decoder"), field, SourceMark{}, reason);
  }
}

void RequirePositive(const DecoderBlueprint& blueprint, int64_t value, const char* field) {
  Require(blueprint, value > 0, field, absl::StrCat("must be positive, is ", value));
}

}  // namespace

const char* RopeLayoutName(RopeLayout layout) {
  return layout == RopeLayout::kRotateHalf ? "rotate_half" : "interleaved";
}

int64_t DecoderBlueprint::HeadDim() const {
  if (attention.head_dim) return *attention.head_dim;
  return attention.num_heads > 0 ? model_dim / attention.num_heads : 0;
}

int64_t DecoderBlueprint::FfnInnerDim() const {
  auto dim = static_cast<int64_t>(static_cast<double>(ffn.inner_dim) * ffn.inner_dim_scale);
  if (ffn.inner_dim_multiplier != 1.0) {
    dim = static_cast<int64_t>(ffn.inner_dim_multiplier * static_cast<double>(dim));
  }
  const int64_t multiple = ffn.inner_dim_multiple_of;
  return multiple * ((dim + multiple - 1) / multiple);
}

void DecoderBlueprint::Validate() const {
  RequirePositive(*this, model_dim, "model_dim");
  RequirePositive(*this, num_layers, "num_layers");
  RequirePositive(*this, vocab_size, "vocab_size");
  RequirePositive(*this, max_seq_len, "max_seq_len");
  Require(*this, norm.eps > 0, "norm.eps", "must be positive");
  RequirePositive(*this, attention.num_heads, "attention.num_heads");
  RequirePositive(*this, attention.num_kv_heads, "attention.num_kv_heads");
  Require(*this, attention.num_heads % attention.num_kv_heads == 0, "attention.num_heads",
          absl::StrCat(attention.num_heads, " is not divisible by num_kv_heads ",
                       attention.num_kv_heads));
  if (!attention.head_dim) {
    Require(*this, model_dim % attention.num_heads == 0, "model_dim",
            absl::StrCat(model_dim, " is not divisible by num_heads ", attention.num_heads,
                         " (set head_dim explicitly)"));
  }
  const int64_t head_dim = HeadDim();
  RequirePositive(*this, head_dim, "attention.head_dim");
  Require(*this, head_dim % 2 == 0, "attention.head_dim",
          absl::StrCat("must be even for rotary embeddings, is ", head_dim));
  if (attention.sliding_window) {
    RequirePositive(*this, *attention.sliding_window, "attention.sliding_window");
  }
  Require(*this, rope.theta > 0, "rope.theta", "must be positive");
  if (rope.llama3_scaling) {
    const Llama3RopeScaling& s = *rope.llama3_scaling;
    Require(*this, s.factor > 0, "rope.scaling.factor", "must be positive");
    Require(*this, s.high_freq_factor > s.low_freq_factor && s.low_freq_factor > 0, "rope.scaling",
            "needs 0 < low_freq_factor < high_freq_factor");
    RequirePositive(*this, s.original_context_length, "rope.scaling.original_context_length");
  }
  RequirePositive(*this, ffn.inner_dim, "ffn.inner_dim");
  Require(*this, ffn.inner_dim_scale > 0 && ffn.inner_dim_multiplier > 0, "ffn",
          "inner_dim_scale and inner_dim_multiplier must be positive");
  RequirePositive(*this, ffn.inner_dim_multiple_of, "ffn.inner_dim_multiple_of");
}

}  // namespace modelhub
