#include "tests/testing/hf_reference.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <set>
#include <sstream>
#include <vector>

namespace modelhub::testing {
namespace {

constexpr double kPi = 3.14159265358979323846;

bool IsKnownType(const std::string& type) {
  return type == "llama" || type == "qwen2" || type == "qwen3" || type == "mistral" ||
         type == "gemma" || type == "gemma2" || type == "gemma3_text" || type == "olmo2" ||
         type == "granite" || type == "starcoder2" || type == "phi3";
}

std::string Architecture(const std::string& type) {
  if (type == "llama") return "LlamaForCausalLM";
  if (type == "qwen2") return "Qwen2ForCausalLM";
  if (type == "qwen3") return "Qwen3ForCausalLM";
  if (type == "mistral") return "MistralForCausalLM";
  if (type == "gemma") return "GemmaForCausalLM";
  if (type == "gemma2") return "Gemma2ForCausalLM";
  if (type == "gemma3_text") return "Gemma3ForCausalLM";
  if (type == "olmo2") return "Olmo2ForCausalLM";
  if (type == "granite") return "GraniteForCausalLM";
  if (type == "phi3") return "Phi3ForCausalLM";
  return "Starcoder2ForCausalLM";
}

// The gemma types: embeddings times sqrt(hidden_size), RMSNorm x * (1 + w),
// GeGLU-style gated MLP with hidden_act.
bool IsGemma(const std::string& type) {
  return type == "gemma" || type == "gemma2" || type == "gemma3_text";
}

// Gemma 2 and 3: input_layernorm, post_attention_layernorm (on the attention
// output), pre_feedforward_layernorm, post_feedforward_layernorm (on the MLP
// output); query_pre_attn_scalar; soft-capping; sliding layers.
bool HasSandwichNorms(const std::string& type) { return type == "gemma2" || type == "gemma3_text"; }

// RMSNorm over each head's head_dim of q and k, before RoPE.
bool HasPerHeadQkNorm(const std::string& type) { return type == "qwen3" || type == "gemma3_text"; }

// RMSNorm over the whole q / k projection width, before the split into heads.
bool HasWholeWidthQkNorm(const std::string& type) { return type == "olmo2"; }

// OLMo 2 has no pre-norms: norms on the attention and MLP outputs instead.
bool HasInputNorm(const std::string& type) { return type != "olmo2"; }

// StarCoder2: LayerNorm with weight and bias, and the c_fc / c_proj MLP.
bool IsStarcoder2(const std::string& type) { return type == "starcoder2"; }

// Phi-3: fused self_attn.qkv_proj and mlp.gate_up_proj, partial rotary, LongRoPE.
bool IsPhi3(const std::string& type) { return type == "phi3"; }

// Whether the type writes a sliding_window key to config.json.
bool WritesSlidingWindow(const std::string& type) {
  return type == "mistral" || type == "qwen2" || type == "qwen3" || HasSandwichNorms(type) ||
         IsStarcoder2(type) || IsPhi3(type);
}

// int(head_dim * partial_rotary_factor), as transformers computes it (Python's
// int() truncates), without the checks of the public function.
int64_t RotaryDim(const HfConfig& c) {
  return static_cast<int64_t>(static_cast<double>(HfHeadDim(c)) * c.partial_rotary_factor);
}

bool IsKnownActivation(const std::string& act) {
  return act == "silu" || act == "gelu" || act == "gelu_pytorch_tanh";
}

void CheckConfig(const HfConfig& c) {
  const std::string& t = c.model_type;
  TORCH_CHECK(IsKnownType(t), "unknown model_type '", t, "'");
  TORCH_CHECK(c.hidden_size > 0 && c.intermediate_size > 0 && c.num_hidden_layers >= 0 &&
                  c.vocab_size > 0 && c.num_attention_heads > 0 && c.num_key_value_heads > 0,
              "config sizes must be positive");
  TORCH_CHECK(c.num_attention_heads % c.num_key_value_heads == 0,
              "num_attention_heads must be a multiple of num_key_value_heads");
  TORCH_CHECK(c.head_dim.has_value() || c.hidden_size % c.num_attention_heads == 0,
              "hidden_size must be a multiple of num_attention_heads without head_dim");
  TORCH_CHECK(!c.head_dim.has_value() || *c.head_dim > 0, "head_dim must be positive");
  TORCH_CHECK(HfHeadDim(c) % 2 == 0, "head_dim must be even for RoPE");
  TORCH_CHECK(c.rms_norm_eps >= 0 && c.rope_theta > 0, "bad rms_norm_eps or rope_theta");
  TORCH_CHECK(IsKnownActivation(c.hidden_act), "unknown hidden_act '", c.hidden_act,
              "' (silu, gelu or gelu_pytorch_tanh)");
  TORCH_CHECK(t != "qwen2" || c.attention_bias,
              "qwen2 always has q/k/v biases: set attention_bias");
  TORCH_CHECK(t != "mistral" || !c.attention_bias, "mistral has no attention biases");
  TORCH_CHECK(!c.sliding_window.has_value() || *c.sliding_window > 0,
              "sliding_window must be positive");
  // Transformers' gemma attention (and Gemma2/3 config validation) require
  // hidden_size % heads == 0 even with an explicit head_dim.
  TORCH_CHECK(!IsGemma(t) || c.hidden_size % c.num_attention_heads == 0, t,
              " requires hidden_size to be a multiple of num_attention_heads");
  // OLMo 2, Granite and StarCoder2 take head_dim from hidden_size / heads in
  // the transformers versions that do not read config.head_dim.
  TORCH_CHECK(!(t == "olmo2" || t == "granite" || IsStarcoder2(t)) || !c.head_dim.has_value() ||
                  *c.head_dim * c.num_attention_heads == c.hidden_size,
              t, " requires head_dim == hidden_size / num_attention_heads");
  TORCH_CHECK(!IsGemma(t) || !c.rope_scaling.has_value(),
              "llama3 rope_scaling is not supported for ", t);

  // Gemma 2 / 3 fields.
  if (HasSandwichNorms(t)) {
    TORCH_CHECK(c.query_pre_attn_scalar.has_value() && *c.query_pre_attn_scalar > 0, t,
                " needs a positive query_pre_attn_scalar");
    TORCH_CHECK(c.sliding_window.has_value(), t, " needs sliding_window");
  } else {
    TORCH_CHECK(!c.query_pre_attn_scalar.has_value() && !c.attn_logit_softcapping.has_value() &&
                    !c.final_logit_softcapping.has_value(),
                "query_pre_attn_scalar and soft-capping are for gemma2 and gemma3_text only");
  }
  TORCH_CHECK(!c.attn_logit_softcapping.has_value() || *c.attn_logit_softcapping > 0,
              "attn_logit_softcapping must be positive");
  TORCH_CHECK(!c.final_logit_softcapping.has_value() || *c.final_logit_softcapping > 0,
              "final_logit_softcapping must be positive");

  // Gemma 3 fields.
  if (t == "gemma3_text") {
    TORCH_CHECK(c.sliding_window_pattern > 0,
                "gemma3_text needs a positive sliding_window_pattern");
    TORCH_CHECK(c.rope_local_base_freq > 0, "rope_local_base_freq must be positive");
    TORCH_CHECK(!c.linear_rope_factor.has_value() || *c.linear_rope_factor > 0,
                "linear_rope_factor must be positive");
  } else {
    TORCH_CHECK(c.sliding_window_pattern == 0 && c.rope_local_base_freq == 10000.0 &&
                    !c.linear_rope_factor.has_value(),
                "sliding_window_pattern, rope_local_base_freq and linear_rope_factor are for "
                "gemma3_text only");
  }

  // Granite fields.
  if (t == "granite") {
    TORCH_CHECK(c.attention_multiplier > 0, "granite needs a positive attention_multiplier");
    TORCH_CHECK(c.logits_scaling != 0, "logits_scaling must not be 0");
  } else {
    TORCH_CHECK(c.embedding_multiplier == 1.0 && c.residual_multiplier == 1.0 &&
                    c.attention_multiplier == 0.0 && c.logits_scaling == 1.0,
                "embedding_multiplier, residual_multiplier, attention_multiplier and "
                "logits_scaling are for granite only");
  }

  // Phi-3 fields.
  if (IsPhi3(t)) {
    TORCH_CHECK(!c.head_dim.has_value(), "phi3 has no head_dim: leave it unset");
    TORCH_CHECK(!c.attention_bias, "phi3 has no attention biases");
    TORCH_CHECK(!c.rope_scaling.has_value(),
                "llama3 rope_scaling is not supported for phi3 (use longrope)");
    TORCH_CHECK(c.partial_rotary_factor > 0 && c.partial_rotary_factor <= 1,
                "partial_rotary_factor must be in (0, 1]");
    const int64_t rotary_dim = RotaryDim(c);
    TORCH_CHECK(rotary_dim > 0 && rotary_dim % 2 == 0, "rotary_dim int(", HfHeadDim(c), " * ",
                c.partial_rotary_factor, ") = ", rotary_dim, " must be even and positive");
    if (c.longrope.has_value()) {
      const HfConfig::LongRopeScaling& s = *c.longrope;
      const size_t half = static_cast<size_t>(rotary_dim / 2);
      TORCH_CHECK(s.short_factor.size() == half && s.long_factor.size() == half,
                  "longrope short_factor and long_factor need rotary_dim / 2 = ", half,
                  " entries each, not ", s.short_factor.size(), " and ", s.long_factor.size());
      for (const std::vector<double>* factors : {&s.short_factor, &s.long_factor}) {
        for (double f : *factors) {
          TORCH_CHECK(std::isfinite(f) && f > 0, "longrope factors must be positive");
        }
      }
      TORCH_CHECK(s.original_max_position_embeddings > 0 && c.max_position_embeddings > 0,
                  "longrope needs positive original_max_position_embeddings and "
                  "max_position_embeddings");
      // The attention factor divides by ln(original) once max exceeds original.
      TORCH_CHECK(s.original_max_position_embeddings > 1 ||
                      c.max_position_embeddings <= s.original_max_position_embeddings,
                  "longrope with max_position_embeddings above original_max_position_embeddings "
                  "needs original_max_position_embeddings > 1");
    }
  } else {
    TORCH_CHECK(c.partial_rotary_factor == 1.0 && !c.longrope.has_value(),
                "partial_rotary_factor and longrope are for phi3 only");
  }
}

// Whether o_proj has a bias: transformers uses attention_bias for all four
// projections except in Qwen2 (q/k/v only); Mistral has none.
bool HasOutputBias(const HfConfig& c) { return c.attention_bias && c.model_type != "qwen2"; }

// StarCoder2's use_bias also puts biases on mlp.c_fc and mlp.c_proj.
bool HasMlpBias(const HfConfig& c) { return IsStarcoder2(c.model_type) && c.attention_bias; }

// Decimal text that reads back exactly as `value`, with a '.' or an exponent
// so that Python's json reads a float: "10000.0" for whole numbers, otherwise
// the shortest %g form ("1e-05", "0.25").
std::string JsonDouble(double value) {
  TORCH_CHECK(std::isfinite(value), "cannot write ", value, " to JSON");
  char buffer[64];
  if (value == std::floor(value) && std::abs(value) < 1e15) {
    std::snprintf(buffer, sizeof(buffer), "%.1f", value);  // 10000.0, not 1e+04
    return buffer;
  }
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  std::string text = buffer;
  if (text.find_first_of(".e") == std::string::npos) text += ".0";
  return text;
}

// Looks up the tensors of a state dict, checking shapes, and remembers which
// names were used so that extra tensors can be reported.
class StateReader {
 public:
  explicit StateReader(const std::map<std::string, at::Tensor>& state) : state_(state) {}

  at::Tensor Get(const std::string& name, at::IntArrayRef shape) {
    auto it = state_.find(name);
    TORCH_CHECK(it != state_.end(), "state dict has no tensor '", name, "'");
    TORCH_CHECK(it->second.sizes() == shape, "tensor '", name, "' has shape ", it->second.sizes(),
                ", expected ", shape);
    used_.insert(name);
    return it->second.to(at::kFloat);
  }

  void Ignore(const std::string& name) { used_.insert(name); }

  void CheckAllUsed() const {
    for (const auto& entry : state_) {
      TORCH_CHECK(used_.count(entry.first) == 1, "state dict has unexpected tensor '", entry.first,
                  "'");
    }
  }

 private:
  const std::map<std::string, at::Tensor>& state_;
  std::set<std::string> used_;
};

// transformers' RMSNorm (Llama's, Qwen's, OLMo 2's, Granite's): in float32,
// x * rsqrt(mean(x^2) + eps), cast back to the input dtype, then times the weight.
at::Tensor RmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  const at::Tensor h = x.to(at::kFloat);
  const at::Tensor variance = h.pow(2).mean({-1}, /*keepdim=*/true);
  return weight * (h * at::rsqrt(variance + eps)).to(x.scalar_type());
}

// GemmaRMSNorm (also Gemma 2's and Gemma 3's): in float32, x * rsqrt(mean(x^2)
// + eps) * (1 + w), then cast to the input dtype.
at::Tensor GemmaRmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  const at::Tensor h = x.to(at::kFloat);
  const at::Tensor normed = h * at::rsqrt(h.pow(2).mean({-1}, /*keepdim=*/true) + eps);
  return (normed * (1.0 + weight.to(at::kFloat))).to(x.scalar_type());
}

// ACT2FN[hidden_act]: "silu" nn.SiLU, "gelu" exact (erf) GELU,
// "gelu_pytorch_tanh" GELU with approximate="tanh".
at::Tensor Activation(const std::string& act, const at::Tensor& x) {
  if (act == "silu") return at::silu(x);
  if (act == "gelu") return at::gelu(x);
  return at::gelu(x, "tanh");
}

// rotate_half: [x1, x2] -> [-x2, x1] over the last dimension.
at::Tensor RotateHalf(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
}

// _compute_default_rope_parameters: 1.0 / (base ** (arange(0, dim, 2).float() /
// dim)), all in float32 (Python's `1.0 / t` is t.reciprocal() * 1.0).
at::Tensor DefaultInverseFrequencies(double base, int64_t dim) {
  const at::Tensor exponents = at::arange(0, dim, 2, at::kLong).to(at::kFloat) / dim;
  return at::reciprocal(at::pow(base, exponents));
}

// _compute_longrope_parameters' frequencies: 1.0 / (ext_factors * base **
// (arange(0, dim, 2).float() / dim)) with ext_factors a float32 tensor of the
// long or short factors, dim the rotary width; all in float32.
at::Tensor LongRopeInverseFrequencies(const HfConfig& c, bool use_long) {
  const HfConfig::LongRopeScaling& s = *c.longrope;
  const int64_t dim = RotaryDim(c);
  const at::Tensor ext = at::tensor(use_long ? s.long_factor : s.short_factor, at::kDouble)
                             .to(at::kFloat);  // torch.tensor(list, dtype=float32)
  const at::Tensor exponents = at::arange(0, dim, 2, at::kLong).to(at::kFloat) / dim;
  return at::reciprocal(ext * at::pow(c.rope_theta, exponents));
}

// Whether a forward over positions 0..seq_len-1 uses the long factors:
// _longrope_frequency_update's max(position_ids) + 1 > original_max.
bool UsesLongFactors(const HfConfig& c, int64_t seq_len) {
  return c.longrope.has_value() && seq_len > c.longrope->original_max_position_embeddings;
}

void CheckLayer(const HfConfig& c, int64_t layer) {
  TORCH_CHECK(layer >= 0 && layer < c.num_hidden_layers, "layer ", layer, " out of range [0, ",
              c.num_hidden_layers, ")");
}

// The window of a layer, without the checks of the public function.
std::optional<int64_t> LayerWindow(const HfConfig& c, int64_t layer) {
  const std::string& t = c.model_type;
  if (t == "mistral" || IsStarcoder2(t) || IsPhi3(t)) return c.sliding_window;
  if (t == "gemma2") return layer % 2 == 0 ? c.sliding_window : std::nullopt;
  if (t == "gemma3_text") {
    return (layer + 1) % c.sliding_window_pattern != 0 ? c.sliding_window : std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

int64_t HfHeadDim(const HfConfig& config) {
  return config.head_dim.has_value() ? *config.head_dim
                                     : config.hidden_size / config.num_attention_heads;
}

int64_t HfRotaryDim(const HfConfig& config) {
  CheckConfig(config);
  return RotaryDim(config);
}

std::optional<int64_t> HfLayerSlidingWindow(const HfConfig& config, int64_t layer) {
  CheckConfig(config);
  CheckLayer(config, layer);
  return LayerWindow(config, layer);
}

std::string ToConfigJson(const HfConfig& c) {
  CheckConfig(c);
  const std::string& t = c.model_type;
  auto optional_double = [](const std::optional<double>& value) {
    return value.has_value() ? JsonDouble(*value) : std::string("null");
  };
  std::ostringstream out;
  out << "{\n";
  out << "  \"architectures\": [\"" << Architecture(t) << "\"],\n";
  out << "  \"model_type\": \"" << t << "\",\n";
  out << "  \"torch_dtype\": \"float32\",\n";
  out << "  \"hidden_act\": \"" << c.hidden_act << "\",\n";
  // Gemma 2 and 3 read hidden_activation; Gemma reads hidden_act now and read
  // hidden_activation in transformers 4.38-4.47: the same value for both.
  if (IsGemma(t)) out << "  \"hidden_activation\": \"" << c.hidden_act << "\",\n";
  out << "  \"hidden_size\": " << c.hidden_size << ",\n";
  out << "  \"intermediate_size\": " << c.intermediate_size << ",\n";
  out << "  \"num_hidden_layers\": " << c.num_hidden_layers << ",\n";
  out << "  \"num_attention_heads\": " << c.num_attention_heads << ",\n";
  out << "  \"num_key_value_heads\": " << c.num_key_value_heads << ",\n";
  if (c.head_dim.has_value() || t == "qwen3" || IsGemma(t)) {
    out << "  \"head_dim\": " << HfHeadDim(c) << ",\n";
  }
  out << "  \"vocab_size\": " << c.vocab_size << ",\n";
  out << "  \"max_position_embeddings\": " << c.max_position_embeddings << ",\n";
  if (IsStarcoder2(t)) {
    out << "  \"norm_epsilon\": " << JsonDouble(c.rms_norm_eps) << ",\n";
  } else {
    out << "  \"rms_norm_eps\": " << JsonDouble(c.rms_norm_eps) << ",\n";
  }
  out << "  \"rope_theta\": " << JsonDouble(c.rope_theta) << ",\n";
  auto json_list = [](const std::vector<double>& values) {
    std::string text = "[";
    for (size_t i = 0; i < values.size(); ++i) text += (i > 0 ? ", " : "") + JsonDouble(values[i]);
    return text + "]";
  };
  if (c.longrope.has_value()) {
    out << "  \"rope_scaling\": {\"type\": \"longrope\", \"short_factor\": "
        << json_list(c.longrope->short_factor)
        << ", \"long_factor\": " << json_list(c.longrope->long_factor) << "},\n";
  } else if (c.rope_scaling.has_value()) {
    const HfConfig::Llama3Scaling& s = *c.rope_scaling;
    out << "  \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": " << JsonDouble(s.factor)
        << ", \"low_freq_factor\": " << JsonDouble(s.low_freq_factor)
        << ", \"high_freq_factor\": " << JsonDouble(s.high_freq_factor)
        << ", \"original_max_position_embeddings\": " << s.original_max_position_embeddings
        << "},\n";
  } else if (c.linear_rope_factor.has_value()) {
    out << "  \"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": "
        << JsonDouble(*c.linear_rope_factor) << "},\n";
  } else {
    out << "  \"rope_scaling\": null,\n";
  }
  if (t == "qwen2" || t == "qwen3") {
    out << "  \"use_sliding_window\": false,\n";
    out << "  \"max_window_layers\": " << c.num_hidden_layers << ",\n";
  }
  if (WritesSlidingWindow(t)) {
    out << "  \"sliding_window\": ";
    if (c.sliding_window.has_value()) {
      out << *c.sliding_window;
    } else {
      out << "null";
    }
    out << ",\n";
  }
  if (HasSandwichNorms(t)) {
    // An integer when whole, as in the released configs (transformers types it int).
    const double scalar = *c.query_pre_attn_scalar;
    out << "  \"query_pre_attn_scalar\": ";
    if (scalar == std::floor(scalar) && scalar < 1e15) {
      out << static_cast<int64_t>(scalar);
    } else {
      out << JsonDouble(scalar);
    }
    out << ",\n";
    out << "  \"attn_logit_softcapping\": " << optional_double(c.attn_logit_softcapping) << ",\n";
    out << "  \"final_logit_softcapping\": " << optional_double(c.final_logit_softcapping) << ",\n";
    out << "  \"layer_types\": [";
    for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
      out << (i > 0 ? ", " : "") << "\""
          << (LayerWindow(c, i).has_value() ? "sliding_attention" : "full_attention") << "\"";
    }
    out << "],\n";
  }
  if (t == "gemma3_text") {
    out << "  \"sliding_window_pattern\": " << c.sliding_window_pattern << ",\n";
    out << "  \"rope_local_base_freq\": " << JsonDouble(c.rope_local_base_freq) << ",\n";
  }
  if (t == "granite") {
    out << "  \"embedding_multiplier\": " << JsonDouble(c.embedding_multiplier) << ",\n";
    out << "  \"residual_multiplier\": " << JsonDouble(c.residual_multiplier) << ",\n";
    out << "  \"attention_multiplier\": " << JsonDouble(c.attention_multiplier) << ",\n";
    out << "  \"logits_scaling\": " << JsonDouble(c.logits_scaling) << ",\n";
  }
  if (IsPhi3(t)) {
    out << "  \"partial_rotary_factor\": " << JsonDouble(c.partial_rotary_factor) << ",\n";
    // Phi3Config reads it at the top level (the attention factor and the
    // short/long switch use it); without longrope it is the trained context.
    out << "  \"original_max_position_embeddings\": "
        << (c.longrope.has_value() ? c.longrope->original_max_position_embeddings
                                   : c.max_position_embeddings)
        << ",\n";
    out << "  \"resid_pdrop\": 0.0,\n";
    out << "  \"embd_pdrop\": 0.0,\n";
  }
  if (t == "llama" || t == "granite") out << "  \"mlp_bias\": false,\n";
  if (IsStarcoder2(t)) {
    out << "  \"use_bias\": " << (c.attention_bias ? "true" : "false") << ",\n";
    out << "  \"residual_dropout\": 0.0,\n";
    out << "  \"embedding_dropout\": 0.0,\n";
  } else {
    out << "  \"attention_bias\": " << (c.attention_bias ? "true" : "false") << ",\n";
  }
  out << "  \"attention_dropout\": 0.0,\n";
  out << "  \"tie_word_embeddings\": " << (c.tie_word_embeddings ? "true" : "false") << "\n";
  out << "}\n";
  return out.str();
}

std::map<std::string, at::Tensor> MakeHfStateDict(const HfConfig& c, uint64_t seed) {
  CheckConfig(c);
  const std::string& t = c.model_type;
  at::Generator generator = at::detail::createCPUGenerator(seed);
  const at::TensorOptions options = at::TensorOptions().dtype(at::kFloat);
  auto normal = [&](std::vector<int64_t> shape) { return at::randn(shape, generator, options); };
  auto linear_weight = [&](int64_t out_features, int64_t in_features) {
    return normal({out_features, in_features}) / std::sqrt(static_cast<double>(in_features));
  };
  // Gemma stores w and computes x * (1 + w): draw w near 0 so 1 + w is near 1.
  const bool gemma = IsGemma(t), layer_norm = IsStarcoder2(t);
  auto norm_weight = [&](int64_t size) {
    return gemma ? 0.1 * normal({size}) : 1.0 + 0.1 * normal({size});
  };
  auto bias = [&](int64_t size) { return 0.1 * normal({size}); };

  const int64_t hidden = c.hidden_size, head_dim = HfHeadDim(c);
  const int64_t q_width = c.num_attention_heads * head_dim;
  const int64_t kv_width = c.num_key_value_heads * head_dim;
  std::map<std::string, at::Tensor> state;
  // A norm over `size` under `name` (weight, and bias for LayerNorm).
  auto add_norm = [&](const std::string& name, int64_t size) {
    state[name + ".weight"] = norm_weight(size);
    if (layer_norm) state[name + ".bias"] = bias(size);
  };
  // Drawn in a fixed order so that the values depend only on config and seed.
  state["model.embed_tokens.weight"] = 0.5 * normal({c.vocab_size, hidden});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    if (HasInputNorm(t)) add_norm(p + "input_layernorm", hidden);
    if (IsPhi3(t)) {  // Fused q, k, v rows, in that order.
      state[p + "self_attn.qkv_proj.weight"] = linear_weight(q_width + 2 * kv_width, hidden);
    } else {
      state[p + "self_attn.q_proj.weight"] = linear_weight(q_width, hidden);
      state[p + "self_attn.k_proj.weight"] = linear_weight(kv_width, hidden);
      state[p + "self_attn.v_proj.weight"] = linear_weight(kv_width, hidden);
    }
    state[p + "self_attn.o_proj.weight"] = linear_weight(hidden, q_width);
    if (c.attention_bias) {
      state[p + "self_attn.q_proj.bias"] = bias(q_width);
      state[p + "self_attn.k_proj.bias"] = bias(kv_width);
      state[p + "self_attn.v_proj.bias"] = bias(kv_width);
    }
    if (HasOutputBias(c)) state[p + "self_attn.o_proj.bias"] = bias(hidden);
    if (HasPerHeadQkNorm(t)) {
      state[p + "self_attn.q_norm.weight"] = norm_weight(head_dim);
      state[p + "self_attn.k_norm.weight"] = norm_weight(head_dim);
    }
    if (HasWholeWidthQkNorm(t)) {
      state[p + "self_attn.q_norm.weight"] = norm_weight(q_width);
      state[p + "self_attn.k_norm.weight"] = norm_weight(kv_width);
    }
    add_norm(p + "post_attention_layernorm", hidden);
    if (HasSandwichNorms(t)) add_norm(p + "pre_feedforward_layernorm", hidden);
    if (HasSandwichNorms(t) || t == "olmo2") add_norm(p + "post_feedforward_layernorm", hidden);
    if (IsStarcoder2(t)) {
      state[p + "mlp.c_fc.weight"] = linear_weight(c.intermediate_size, hidden);
      if (HasMlpBias(c)) state[p + "mlp.c_fc.bias"] = bias(c.intermediate_size);
      state[p + "mlp.c_proj.weight"] = linear_weight(hidden, c.intermediate_size);
      if (HasMlpBias(c)) state[p + "mlp.c_proj.bias"] = bias(hidden);
    } else if (IsPhi3(t)) {  // Fused gate rows, then up rows.
      state[p + "mlp.gate_up_proj.weight"] = linear_weight(2 * c.intermediate_size, hidden);
      state[p + "mlp.down_proj.weight"] = linear_weight(hidden, c.intermediate_size);
    } else {
      state[p + "mlp.gate_proj.weight"] = linear_weight(c.intermediate_size, hidden);
      state[p + "mlp.up_proj.weight"] = linear_weight(c.intermediate_size, hidden);
      state[p + "mlp.down_proj.weight"] = linear_weight(hidden, c.intermediate_size);
    }
  }
  add_norm("model.norm", hidden);
  if (!c.tie_word_embeddings) state["lm_head.weight"] = linear_weight(c.vocab_size, hidden);
  return state;
}

at::Tensor HfRopeInverseFrequencies(const HfConfig& c) {
  CheckConfig(c);
  if (c.longrope.has_value()) return LongRopeInverseFrequencies(c, /*use_long=*/false);
  at::Tensor inv_freq = DefaultInverseFrequencies(c.rope_theta, RotaryDim(c));
  // _compute_linear_scaling_rope_parameters: inv_freq /= factor.
  if (c.linear_rope_factor.has_value()) return inv_freq / *c.linear_rope_factor;
  if (!c.rope_scaling.has_value()) return inv_freq;

  // _compute_llama3_parameters, in the same float32 operations.
  const HfConfig::Llama3Scaling& s = *c.rope_scaling;
  const double old_context = static_cast<double>(s.original_max_position_embeddings);
  const double low_freq_wavelen = old_context / s.low_freq_factor;
  const double high_freq_wavelen = old_context / s.high_freq_factor;
  const at::Tensor wavelen = at::reciprocal(inv_freq) * (2 * kPi);
  const at::Tensor low = wavelen > low_freq_wavelen;
  const at::Tensor high = wavelen < high_freq_wavelen;
  const at::Tensor inv_freq_llama = at::where(low, inv_freq / s.factor, inv_freq);
  const at::Tensor smooth = (at::reciprocal(wavelen) * old_context - s.low_freq_factor) /
                            (s.high_freq_factor - s.low_freq_factor);
  const at::Tensor smoothed = (1 - smooth) * inv_freq_llama / s.factor + smooth * inv_freq_llama;
  const at::Tensor medium = at::logical_and(at::logical_not(high), at::logical_not(low));
  return at::where(medium, smoothed, inv_freq_llama);
}

at::Tensor HfPhi3RopeInverseFrequencies(const HfConfig& c, int64_t seq_len) {
  CheckConfig(c);
  TORCH_CHECK(IsPhi3(c.model_type), "HfPhi3RopeInverseFrequencies is for phi3, not ", c.model_type);
  TORCH_CHECK(seq_len >= 1, "seq_len must be positive");
  if (UsesLongFactors(c, seq_len)) return LongRopeInverseFrequencies(c, /*use_long=*/true);
  return HfRopeInverseFrequencies(c);
}

double HfRopeAttentionFactor(const HfConfig& c) {
  CheckConfig(c);
  if (!c.longrope.has_value()) return 1.0;
  // _compute_longrope_parameters with config.original_max_position_embeddings
  // set (Phi3Config always has it): factor = max / original in Python floats.
  const double original = static_cast<double>(c.longrope->original_max_position_embeddings);
  const double factor = static_cast<double>(c.max_position_embeddings) / original;
  if (factor <= 1.0) return 1.0;
  return std::sqrt(1.0 + std::log(factor) / std::log(original));
}

at::Tensor HfLayerRopeInverseFrequencies(const HfConfig& c, int64_t layer) {
  CheckConfig(c);
  CheckLayer(c, layer);
  // Gemma 3's sliding layers: rope_local_base_freq with rope_type "default".
  if (c.model_type == "gemma3_text" && LayerWindow(c, layer).has_value()) {
    return DefaultInverseFrequencies(c.rope_local_base_freq, HfHeadDim(c));
  }
  return HfRopeInverseFrequencies(c);
}

at::Tensor HfReferenceLogits(const HfConfig& c, const std::map<std::string, at::Tensor>& state,
                             const at::Tensor& input_ids) {
  CheckConfig(c);
  TORCH_CHECK(input_ids.dim() == 2, "input_ids must be [batch, seq]");
  TORCH_CHECK(input_ids.scalar_type() == at::kLong, "input_ids must be int64");
  TORCH_CHECK(input_ids.numel() > 0, "input_ids must not be empty");
  TORCH_CHECK(
      input_ids.min().item<int64_t>() >= 0 && input_ids.max().item<int64_t>() < c.vocab_size,
      "input_ids out of the vocabulary");

  const std::string& t = c.model_type;
  const int64_t batch = input_ids.size(0), seq = input_ids.size(1);
  const int64_t hidden = c.hidden_size, head_dim = HfHeadDim(c);
  const int64_t heads = c.num_attention_heads, kv_heads = c.num_key_value_heads;
  const int64_t groups = heads / kv_heads, inter = c.intermediate_size;
  const int64_t rotary_dim = RotaryDim(c);
  const bool granite = t == "granite", sandwich = HasSandwichNorms(t), phi3 = IsPhi3(t);
  // The attention scale: query_pre_attn_scalar ** -0.5 (gemma2/3),
  // attention_multiplier (granite), head_dim ** -0.5 (the rest).
  double scaling = std::pow(static_cast<double>(head_dim), -0.5);
  if (sandwich) scaling = std::pow(*c.query_pre_attn_scalar, -0.5);
  if (granite) scaling = c.attention_multiplier;
  // Gemma 3's attention never passes attn_logit_softcapping on: only Gemma 2 caps.
  const std::optional<double> attn_cap =
      t == "gemma2" ? c.attn_logit_softcapping : std::optional<double>();

  StateReader reader(state);
  const at::Tensor embed = reader.Get("model.embed_tokens.weight", {c.vocab_size, hidden});

  // The model's norm under `name` applied to x: GemmaRMSNorm, LayerNorm with
  // bias (starcoder2) or RMSNorm.
  auto norm = [&](const std::string& name, const at::Tensor& x, int64_t size) {
    const at::Tensor weight = reader.Get(name + ".weight", {size});
    if (IsGemma(t)) return GemmaRmsNorm(x, weight, c.rms_norm_eps);
    if (IsStarcoder2(t)) {
      return at::layer_norm(x, {size}, weight, reader.Get(name + ".bias", {size}), c.rms_norm_eps);
    }
    return RmsNorm(x, weight, c.rms_norm_eps);
  };

  // Rotary tables [1, 1, seq, rotary_dim] per distinct inverse-frequency set:
  // freqs = position * inv_freq in float32, emb = cat(freqs, freqs), cos/sin
  // of that times attention_scaling (1 but for phi3's longrope, where it
  // multiplies both).
  const at::Tensor positions = at::arange(seq, at::kLong).to(at::kFloat);
  const double attention_scaling = HfRopeAttentionFactor(c);
  auto rotary = [&](const at::Tensor& inv_freq) {
    const at::Tensor freqs = at::outer(positions, inv_freq);
    const at::Tensor emb = at::cat({freqs, freqs}, -1);
    return std::make_pair((emb.cos() * attention_scaling).view({1, 1, seq, rotary_dim}),
                          (emb.sin() * attention_scaling).view({1, 1, seq, rotary_dim}));
  };
  // apply_rotary_pos_emb: rotate_half within the first rotary_dim features,
  // the rest passed through (Phi-3's partial rotary; all features elsewhere).
  auto apply_rotary = [&](const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
    if (rotary_dim == head_dim) return x * cos + RotateHalf(x) * sin;
    const at::Tensor x_rot = x.slice(-1, 0, rotary_dim);
    return at::cat({x_rot * cos + RotateHalf(x_rot) * sin, x.slice(-1, rotary_dim)}, -1);
  };
  // Phi-3's LongRoPE picks short or long factors once per call, from
  // max(position_ids) + 1 = seq.
  const std::optional<at::Tensor> phi3_inv_freq =
      phi3 ? std::optional<at::Tensor>(HfPhi3RopeInverseFrequencies(c, seq)) : std::nullopt;

  // Eager additive mask [1, 1, seq, seq]: 0 where query i may see key j (j <= i,
  // and i - j < window on a sliding layer), finfo(float32).min elsewhere.
  const at::Tensor query_index = at::arange(seq, at::kLong).view({seq, 1});
  const at::Tensor key_index = at::arange(seq, at::kLong).view({1, seq});
  auto make_mask = [&](const std::optional<int64_t>& window) {
    at::Tensor allowed = key_index <= query_index;
    if (window.has_value()) {
      allowed = at::logical_and(allowed, key_index > query_index - *window);
    }
    return at::zeros({seq, seq}, at::kFloat)
        .masked_fill(at::logical_not(allowed), std::numeric_limits<float>::lowest())
        .view({1, 1, seq, seq});
  };

  at::Tensor h = at::embedding(embed, input_ids);  // [batch, seq, hidden]
  if (IsGemma(t)) {
    // normalizer = torch.tensor(hidden_size ** 0.5) in the model dtype.
    h = h * at::scalar_tensor(std::sqrt(static_cast<double>(hidden)), at::kFloat);
  }
  if (granite) h = h * c.embedding_multiplier;

  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    at::Tensor wq, wk, wv, wqkv;
    if (phi3) {
      wqkv =
          reader.Get(p + "self_attn.qkv_proj.weight", {(heads + 2 * kv_heads) * head_dim, hidden});
    } else {
      wq = reader.Get(p + "self_attn.q_proj.weight", {heads * head_dim, hidden});
      wk = reader.Get(p + "self_attn.k_proj.weight", {kv_heads * head_dim, hidden});
      wv = reader.Get(p + "self_attn.v_proj.weight", {kv_heads * head_dim, hidden});
    }
    const at::Tensor wo = reader.Get(p + "self_attn.o_proj.weight", {hidden, heads * head_dim});
    c10::optional<at::Tensor> bq, bk, bv, bo;  // at::linear takes c10::optional.
    if (c.attention_bias) {
      bq = reader.Get(p + "self_attn.q_proj.bias", {heads * head_dim});
      bk = reader.Get(p + "self_attn.k_proj.bias", {kv_heads * head_dim});
      bv = reader.Get(p + "self_attn.v_proj.bias", {kv_heads * head_dim});
    }
    if (HasOutputBias(c)) bo = reader.Get(p + "self_attn.o_proj.bias", {hidden});
    const auto [cos, sin] = rotary(phi3 ? *phi3_inv_freq : HfLayerRopeInverseFrequencies(c, i));
    const at::Tensor mask = make_mask(LayerWindow(c, i));

    // Self attention.
    const at::Tensor residual = h;
    const at::Tensor x = HasInputNorm(t) ? norm(p + "input_layernorm", h, hidden) : h;
    at::Tensor q, k, v;
    if (phi3) {  // qkv = qkv_proj(x), then split: q, k, v along the last dimension.
      const at::Tensor qkv = at::linear(x, wqkv);
      const int64_t q_end = heads * head_dim, k_end = q_end + kv_heads * head_dim;
      q = qkv.slice(-1, 0, q_end);
      k = qkv.slice(-1, q_end, k_end);
      v = qkv.slice(-1, k_end);
    } else {
      q = at::linear(x, wq, bq);
      k = at::linear(x, wk, bk);
      v = at::linear(x, wv, bv);
    }
    v = v.reshape({batch, seq, kv_heads, head_dim});
    if (HasWholeWidthQkNorm(t)) {  // OLMo 2: over the whole projection, before the head split.
      q = RmsNorm(q, reader.Get(p + "self_attn.q_norm.weight", {heads * head_dim}), c.rms_norm_eps);
      k = RmsNorm(k, reader.Get(p + "self_attn.k_norm.weight", {kv_heads * head_dim}),
                  c.rms_norm_eps);
    }
    q = q.reshape({batch, seq, heads, head_dim});
    k = k.reshape({batch, seq, kv_heads, head_dim});
    if (HasPerHeadQkNorm(t)) {  // Qwen3, Gemma 3: over each head's head_dim, before RoPE.
      const at::Tensor q_norm = reader.Get(p + "self_attn.q_norm.weight", {head_dim});
      const at::Tensor k_norm = reader.Get(p + "self_attn.k_norm.weight", {head_dim});
      if (IsGemma(t)) {
        q = GemmaRmsNorm(q, q_norm, c.rms_norm_eps);
        k = GemmaRmsNorm(k, k_norm, c.rms_norm_eps);
      } else {
        q = RmsNorm(q, q_norm, c.rms_norm_eps);
        k = RmsNorm(k, k_norm, c.rms_norm_eps);
      }
    }
    q = q.transpose(1, 2);  // [batch, heads, seq, head_dim]
    k = k.transpose(1, 2);
    at::Tensor vt = v.transpose(1, 2);
    q = apply_rotary(q, cos, sin);
    k = apply_rotary(k, cos, sin);
    // repeat_kv: kv head g serves query heads g * groups .. (g + 1) * groups - 1.
    k = k.unsqueeze(2)
            .expand({batch, kv_heads, groups, seq, head_dim})
            .reshape({batch, heads, seq, head_dim});
    vt = vt.unsqueeze(2)
             .expand({batch, kv_heads, groups, seq, head_dim})
             .reshape({batch, heads, seq, head_dim});
    at::Tensor weights = at::matmul(q, k.transpose(2, 3)) * scaling;
    if (attn_cap.has_value()) weights = at::tanh(weights / *attn_cap) * *attn_cap;
    weights = at::softmax(weights + mask, -1, at::kFloat);
    const at::Tensor attended = at::matmul(weights, vt)
                                    .transpose(1, 2)
                                    .contiguous()
                                    .reshape({batch, seq, heads * head_dim});
    at::Tensor attn_out = at::linear(attended, wo, bo);
    if (sandwich || t == "olmo2") attn_out = norm(p + "post_attention_layernorm", attn_out, hidden);
    if (granite) attn_out = attn_out * c.residual_multiplier;
    h = residual + attn_out;

    // MLP: down(act(gate(y)) * up(y)), or StarCoder2's c_proj(act(c_fc(y))).
    const at::Tensor residual2 = h;
    at::Tensor y = h;
    if (sandwich) {
      y = norm(p + "pre_feedforward_layernorm", h, hidden);
    } else if (t != "olmo2") {
      y = norm(p + "post_attention_layernorm", h, hidden);
    }
    at::Tensor mlp_out;
    if (IsStarcoder2(t)) {
      c10::optional<at::Tensor> b_fc, b_proj;
      if (HasMlpBias(c)) {
        b_fc = reader.Get(p + "mlp.c_fc.bias", {inter});
        b_proj = reader.Get(p + "mlp.c_proj.bias", {hidden});
      }
      const at::Tensor fc = at::linear(y, reader.Get(p + "mlp.c_fc.weight", {inter, hidden}), b_fc);
      mlp_out = at::linear(Activation(c.hidden_act, fc),
                           reader.Get(p + "mlp.c_proj.weight", {hidden, inter}), b_proj);
    } else if (phi3) {  // gate, up = gate_up_proj(y).chunk(2); down(up * act(gate)).
      const at::Tensor gate_up =
          at::linear(y, reader.Get(p + "mlp.gate_up_proj.weight", {2 * inter, hidden}));
      const at::Tensor gate = gate_up.slice(-1, 0, inter), up = gate_up.slice(-1, inter);
      mlp_out = at::linear(up * Activation(c.hidden_act, gate),
                           reader.Get(p + "mlp.down_proj.weight", {hidden, inter}));
    } else {
      const at::Tensor gate =
          at::linear(y, reader.Get(p + "mlp.gate_proj.weight", {inter, hidden}));
      const at::Tensor up = at::linear(y, reader.Get(p + "mlp.up_proj.weight", {inter, hidden}));
      mlp_out = at::linear(Activation(c.hidden_act, gate) * up,
                           reader.Get(p + "mlp.down_proj.weight", {hidden, inter}));
    }
    if (sandwich || t == "olmo2") {
      mlp_out = norm(p + "post_feedforward_layernorm", mlp_out, hidden);
    }
    if (granite) mlp_out = mlp_out * c.residual_multiplier;
    h = residual2 + mlp_out;
  }
  h = norm("model.norm", h, hidden);

  at::Tensor head;
  if (c.tie_word_embeddings) {
    head = embed;
    reader.Ignore("lm_head.weight");
  } else {
    head = reader.Get("lm_head.weight", {c.vocab_size, hidden});
  }
  reader.CheckAllUsed();
  at::Tensor logits = at::linear(h, head);
  if (granite) logits = logits / c.logits_scaling;
  if (c.final_logit_softcapping.has_value()) {
    const double cap = *c.final_logit_softcapping;
    logits = at::tanh(logits / cap) * cap;
  }
  return logits;
}

namespace {

// What the tiny configs share: hidden 64, 2 layers, 4 query / 2 key-value heads,
// intermediate 96, vocabulary 128, 128 positions, no biases, untied.
HfConfig TinyConfig(const std::string& model_type, double rms_norm_eps, double rope_theta) {
  HfConfig c;
  c.model_type = model_type;
  c.hidden_size = 64;
  c.intermediate_size = 96;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.vocab_size = 128;
  c.max_position_embeddings = 128;
  c.rms_norm_eps = rms_norm_eps;
  c.rope_theta = rope_theta;
  c.tie_word_embeddings = false;
  c.attention_bias = false;
  return c;
}

}  // namespace

HfConfig TinyLlama3Config() {
  HfConfig c = TinyConfig("llama", 1e-5, 10000.0);
  // head_dim 16: wavelengths 2 pi * 10^(i / 2), i = 0..7, i.e. 6.3, 19.9, 62.8, ...;
  // high_freq_wavelen 32 / 4 = 8 and low_freq_wavelen 32 / 1 = 32 put i = 0 in
  // the untouched band, i = 1 in the smoothed band and i >= 2 in the divided one.
  c.rope_scaling = HfConfig::Llama3Scaling{8.0, 1.0, 4.0, 32};
  return c;
}

HfConfig TinyQwen2Config() {
  HfConfig c = TinyConfig("qwen2", 1e-6, 1000000.0);
  c.tie_word_embeddings = true;
  c.attention_bias = true;
  return c;
}

HfConfig TinyQwen3Config() {
  HfConfig c = TinyConfig("qwen3", 1e-6, 1000000.0);
  c.head_dim = 32;
  c.tie_word_embeddings = true;
  return c;
}

HfConfig TinyMistralConfig() {
  HfConfig c = TinyConfig("mistral", 1e-5, 10000.0);
  c.sliding_window = 4;
  return c;
}

HfConfig TinyGemmaConfig() {
  HfConfig c = TinyConfig("gemma", 1e-6, 10000.0);
  c.head_dim = 32;
  c.hidden_act = "gelu";
  c.tie_word_embeddings = true;
  return c;
}

HfConfig TinyGemma2Config() {
  HfConfig c = TinyConfig("gemma2", 1e-6, 10000.0);
  c.num_hidden_layers = 3;
  c.head_dim = 32;
  c.hidden_act = "gelu_pytorch_tanh";
  c.query_pre_attn_scalar = 24.0;
  c.sliding_window = 4;
  c.attn_logit_softcapping = 5.0;
  c.final_logit_softcapping = 3.0;
  c.tie_word_embeddings = true;
  return c;
}

HfConfig TinyGemma3Config() {
  HfConfig c = TinyConfig("gemma3_text", 1e-6, 1000000.0);
  c.num_hidden_layers = 4;
  c.head_dim = 32;
  c.hidden_act = "gelu_pytorch_tanh";
  c.query_pre_attn_scalar = 24.0;
  c.sliding_window = 4;
  c.sliding_window_pattern = 2;
  c.rope_local_base_freq = 10000.0;
  c.linear_rope_factor = 2.0;
  c.final_logit_softcapping = 3.0;
  c.tie_word_embeddings = true;
  return c;
}

HfConfig TinyOlmo2Config() { return TinyConfig("olmo2", 1e-6, 500000.0); }

HfConfig TinyGraniteConfig() {
  HfConfig c = TinyConfig("granite", 1e-5, 10000.0);
  c.embedding_multiplier = 12.0;
  c.residual_multiplier = 0.22;
  c.attention_multiplier = 0.125;
  c.logits_scaling = 2.0;
  c.tie_word_embeddings = true;
  return c;
}

HfConfig TinyPhi3Config() {
  HfConfig c = TinyConfig("phi3", 1e-5, 10000.0);
  c.max_position_embeddings = 48;
  c.partial_rotary_factor = 0.5;  // head_dim 16: rotary_dim 8, 4 frequencies
  c.longrope = HfConfig::LongRopeScaling{{1.0, 1.5, 2.0, 4.0}, {2.0, 3.0, 5.0, 8.0}, 6};
  c.sliding_window = 5;
  return c;
}

HfConfig TinyPhi3PlainConfig() {
  HfConfig c = TinyConfig("phi3", 1e-5, 10000.0);
  c.max_position_embeddings = 32;
  c.sliding_window = 4;
  c.tie_word_embeddings = true;
  return c;
}

HfConfig TinyStarcoder2Config() {
  HfConfig c = TinyConfig("starcoder2", 1e-5, 100000.0);
  c.hidden_act = "gelu_pytorch_tanh";
  c.attention_bias = true;  // use_bias
  c.sliding_window = 4;
  c.tie_word_embeddings = true;
  return c;
}

}  // namespace modelhub::testing
