#include "runtime/blueprint/decoder_blueprint.h"

#include <charconv>

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

std::string Show(int64_t value) { return absl::StrCat(value); }
std::string Show(bool value) { return value ? "true" : "false"; }
std::string Show(RopeLayout layout) { return RopeLayoutName(layout); }
std::string Show(const std::optional<int64_t>& value) { return value ? Show(*value) : "none"; }
std::string Show(double value) {  // the shortest text that reads back as `value`
  char text[32];
  return std::string(text, std::to_chars(text, text + sizeof(text), value).ptr);
}

// Keeps the first of the differences it is shown.
class FirstDifference {
 public:
  template <typename T>
  void Compare(const char* what, const T& a, const T& b) {
    if (text_.empty() && !(a == b)) text_ = absl::StrCat(what, ": ", Show(a), " vs ", Show(b));
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

}  // namespace

std::string DescribeDifference(const DecoderBlueprint& a, const DecoderBlueprint& b) {
  FirstDifference diff;
  diff.Compare("model_dim", a.model_dim, b.model_dim);
  diff.Compare("num_layers", a.num_layers, b.num_layers);
  diff.Compare("vocab_size", a.vocab_size, b.vocab_size);
  diff.Compare("max_seq_len", a.max_seq_len, b.max_seq_len);
  diff.Compare("tied_embeddings", a.tied_embeddings, b.tied_embeddings);
  diff.Compare("norm.eps", a.norm.eps, b.norm.eps);
  diff.Compare("attention.num_heads", a.attention.num_heads, b.attention.num_heads);
  diff.Compare("attention.num_kv_heads", a.attention.num_kv_heads, b.attention.num_kv_heads);
  diff.Compare("attention.head_dim", a.HeadDim(), b.HeadDim());
  diff.Compare("attention.qkv_bias", a.attention.qkv_bias, b.attention.qkv_bias);
  diff.Compare("attention.q_norm", a.attention.q_norm, b.attention.q_norm);
  diff.Compare("attention.k_norm", a.attention.k_norm, b.attention.k_norm);
  diff.Compare("attention.sliding_window", a.attention.sliding_window, b.attention.sliding_window);
  diff.Compare("rope.theta", a.rope.theta, b.rope.theta);
  diff.Compare("rope.layout", a.rope.layout, b.rope.layout);
  const std::optional<Llama3RopeScaling>& x = a.rope.llama3_scaling;
  const std::optional<Llama3RopeScaling>& y = b.rope.llama3_scaling;
  diff.Compare("rope.llama3_scaling", x.has_value(), y.has_value());
  if (x && y) {
    diff.Compare("rope.llama3_scaling.factor", x->factor, y->factor);
    diff.Compare("rope.llama3_scaling.low_freq_factor", x->low_freq_factor, y->low_freq_factor);
    diff.Compare("rope.llama3_scaling.high_freq_factor", x->high_freq_factor, y->high_freq_factor);
    diff.Compare("rope.llama3_scaling.original_context_length", x->original_context_length,
                 y->original_context_length);
  }
  diff.Compare("ffn inner dim", a.FfnInnerDim(), b.FfnInnerDim());
  return diff.text();
}

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
          absl::StrCat("must be even for rotary embeddings, is ", head_dim,
                       attention.head_dim ? ""
                                          : absl::StrCat(" (model_dim ", model_dim, " / num_heads ",
                                                         attention.num_heads, ")")));
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
