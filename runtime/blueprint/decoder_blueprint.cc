#include "runtime/blueprint/decoder_blueprint.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
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
std::string Show(const std::string& value) { return value; }
std::string Show(double value) {  // the shortest text that reads back as `value`
  char text[32];
  return std::string(text, std::to_chars(text, text + sizeof(text), value).ptr);
}
template <typename T>
std::string Show(const std::optional<T>& value) {
  return value ? Show(*value) : "none";
}
std::string Show(const std::vector<double>& values) {
  std::vector<std::string> shown;
  for (double value : values) shown.push_back(Show(value));
  return absl::StrCat("[", absl::StrJoin(shown, ", "), "]");
}

// Keeps the first of the differences it is shown.
class FirstDifference {
 public:
  template <typename T>
  void Compare(const std::string& what, const T& a, const T& b) {
    if (text_.empty() && !(a == b)) text_ = absl::StrCat(what, ": ", Show(a), " vs ", Show(b));
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// Validate()'s check of one setting on its own.
void CheckPositive(const DecoderBlueprint& blueprint, const std::string& key, int64_t value) {
  RequirePositive(blueprint, value, key.c_str());
}
void CheckPositive(const DecoderBlueprint& blueprint, const std::string& key, double value) {
  Require(blueprint, value > 0, key.c_str(), "must be positive");
}
template <typename T>
void CheckPositive(const DecoderBlueprint& blueprint, const std::string& key,
                   const std::optional<T>& value) {
  if (value) CheckPositive(blueprint, key, *value);
}
void CheckPositive(const DecoderBlueprint& blueprint, const std::string& key,
                   const std::vector<double>& values) {
  for (double value : values) {
    Require(blueprint, value > 0, key.c_str(), absl::StrCat("must be positive, has ", Show(value)));
  }
}
void CheckPositive(const DecoderBlueprint&, const std::string&, bool) {}
void CheckPositive(const DecoderBlueprint&, const std::string&, const std::string&) {}

// Validate()'s check of a string setting's choices.
void CheckChoice(const DecoderBlueprint& blueprint, const DecoderSetting& setting,
                 const std::string& value) {
  const std::vector<std::string> choices = SplitChoices(setting.choices);
  Require(blueprint, std::find(choices.begin(), choices.end(), value) != choices.end(), setting.key,
          absl::StrCat("is '", value, "', not one of ", absl::StrJoin(choices, ", ")));
}
template <typename T>
void CheckChoice(const DecoderBlueprint&, const DecoderSetting&, const T&) {}

int64_t HeadDimOf(const DecoderBlueprint& blueprint) { return blueprint.HeadDim(); }
int64_t FfnInnerDimOf(const DecoderBlueprint& blueprint) { return blueprint.FfnInnerDim(); }

}  // namespace

std::vector<std::string> SplitChoices(const char* choices) {
  if (choices == nullptr) return {};
  return absl::StrSplit(choices, ' ');
}

const DerivedSize kHeadDimSize = {"attention.head_dim", &HeadDimOf};
const DerivedSize kFfnInnerDimSize = {"ffn inner dim", &FfnInnerDimOf};

std::string DescribeDifference(const DecoderBlueprint& a, const DecoderBlueprint& b) {
  FirstDifference diff;
  std::vector<const DerivedSize*> compared;  // each derived size once
  auto compare = [&](const std::string& prefix) {
    return [&diff, &compared, &a, &b, prefix](const DecoderSetting& setting, const auto& x,
                                              const auto& y) {
      if (setting.derived == nullptr) {
        diff.Compare(prefix + setting.key, x, y);
      } else if (std::find(compared.begin(), compared.end(), setting.derived) == compared.end()) {
        compared.push_back(setting.derived);
        diff.Compare(setting.derived->name, setting.derived->of(a), setting.derived->of(b));
      }
    };
  };
  VisitDecoderSettings(compare(""), a, b);
  diff.Compare("rope.layout", a.rope.layout, b.rope.layout);
  const std::optional<Llama3RopeScaling>& x = a.rope.llama3_scaling;
  const std::optional<Llama3RopeScaling>& y = b.rope.llama3_scaling;
  diff.Compare("rope.llama3_scaling", x.has_value(), y.has_value());
  if (x && y) VisitLlama3ScalingSettings(compare("rope.llama3_scaling."), *x, *y);
  const std::optional<LongRopeScaling>& u = a.rope.longrope_scaling;
  const std::optional<LongRopeScaling>& v = b.rope.longrope_scaling;
  diff.Compare("rope.longrope_scaling", u.has_value(), v.has_value());
  if (u && v) VisitLongRopeScalingSettings(compare("rope.longrope_scaling."), *u, *v);
  return diff.text();
}

int64_t DecoderBlueprint::HeadDim() const {
  if (attention.head_dim) return *attention.head_dim;
  return attention.num_heads > 0 ? model_dim / attention.num_heads : 0;
}

int64_t DecoderBlueprint::RotaryDim() const {
  return static_cast<int64_t>(static_cast<double>(HeadDim()) * rope.partial_factor);
}

double DecoderBlueprint::RopeAttentionFactor() const {
  if (!rope.longrope_scaling) return 1.0;
  const double original = static_cast<double>(rope.longrope_scaling->original_context_length);
  const double factor = static_cast<double>(max_seq_len) / original;
  if (factor <= 1.0) return 1.0;
  return std::sqrt(1.0 + std::log(factor) / std::log(original));
}

bool DecoderBlueprint::LongRopeSwitches(int64_t cached, int64_t length) const {
  if (!rope.longrope_scaling || cached == 0) return false;
  const int64_t original = rope.longrope_scaling->original_context_length;
  return cached <= original && length > original;
}

double DecoderBlueprint::AttentionScale() const {
  if (attention.scale) return *attention.scale;
  const double scalar = attention.query_pre_attn_scalar ? *attention.query_pre_attn_scalar
                                                        : static_cast<double>(HeadDim());
  return 1.0 / std::sqrt(scalar);
}

bool DecoderBlueprint::IsLocalLayer(int64_t layer) const {
  if (!attention.sliding_window) return false;
  const std::optional<int64_t>& pattern = attention.sliding_window_pattern;
  return !pattern || (layer + 1) % *pattern != 0;
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
  VisitDecoderSettings(
      [&](const DecoderSetting& setting, const auto& member) {
        if (setting.positive) CheckPositive(*this, setting.key, member);
        if (setting.choices != nullptr) CheckChoice(*this, setting, member);
      },
      *this);
  Require(*this, norm.before || norm.after, "norm",
          "needs norms before or after the sub-blocks (before, after or both)");
  Require(*this, !norm.unit_offset || norm.kind == "rms", "norm.unit_offset",
          "applies to RMSNorm only");
  Require(*this, attention.sliding_window || !attention.sliding_window_pattern,
          "attention.sliding_window_pattern", "needs a sliding_window");
  Require(*this, attention.sliding_window || !rope.local_theta, "rope.local_theta",
          "applies to layers with a sliding window, and there is none");
  Require(*this, !(rope.linear_factor && rope.llama3_scaling), "rope.linear_factor",
          "cannot be combined with Llama 3 scaling");
  if (rope.llama3_scaling) {
    VisitLlama3ScalingSettings(
        [&](const DecoderSetting& setting, const auto& member) {
          CheckPositive(*this, absl::StrCat("rope.scaling.", setting.key), member);
        },
        *rope.llama3_scaling);
    const Llama3RopeScaling& s = *rope.llama3_scaling;
    Require(*this, s.high_freq_factor > s.low_freq_factor, "rope.scaling",
            "needs 0 < low_freq_factor < high_freq_factor");
  }
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
  Require(*this, rope.partial_factor <= 1.0, "rope.partial_factor",
          absl::StrCat("must be at most 1, is ", Show(rope.partial_factor)));
  Require(*this, rope.partial_factor == 1.0 || rope.layout == RopeLayout::kRotateHalf,
          "rope.partial_factor", "needs the rotate_half RoPE layout");
  Require(*this, RotaryDim() > 0 && RotaryDim() % 2 == 0, "rope.partial_factor",
          absl::StrCat("must rotate an even number of features, rotates ", RotaryDim(), " of ",
                       head_dim));
  if (rope.longrope_scaling) {
    const LongRopeScaling& s = *rope.longrope_scaling;
    Require(*this, !rope.llama3_scaling && !rope.linear_factor, "rope.scaling",
            "LongRoPE cannot be combined with Llama 3 or linear scaling");
    VisitLongRopeScalingSettings(
        [&](const DecoderSetting& setting, const auto& member) {
          CheckPositive(*this, absl::StrCat("rope.scaling.", setting.key), member);
        },
        s);
    Require(*this, s.original_context_length > 1, "rope.scaling.original_context_length",
            absl::StrCat("must be above 1, is ", s.original_context_length));
    const size_t pairs = static_cast<size_t>(std::max<int64_t>(RotaryDim(), 0) / 2);
    for (const auto& [key, factors] : {std::pair{"rope.scaling.short_factors", &s.short_factors},
                                       std::pair{"rope.scaling.long_factors", &s.long_factors}}) {
      Require(*this, factors->size() == pairs, key,
              absl::StrCat("must have one factor per rotated pair of features (", pairs,
                           ": rotary dim ", RotaryDim(), " / 2), has ", factors->size()));
    }
  }
}

}  // namespace modelhub
