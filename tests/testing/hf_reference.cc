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
  return type == "llama" || type == "qwen2" || type == "qwen3" || type == "mistral";
}

std::string Architecture(const std::string& type) {
  if (type == "llama") return "LlamaForCausalLM";
  if (type == "qwen2") return "Qwen2ForCausalLM";
  if (type == "qwen3") return "Qwen3ForCausalLM";
  return "MistralForCausalLM";
}

void CheckConfig(const HfConfig& c) {
  TORCH_CHECK(IsKnownType(c.model_type), "unknown model_type '", c.model_type, "'");
  TORCH_CHECK(c.hidden_size > 0 && c.intermediate_size > 0 && c.num_hidden_layers >= 0 &&
                  c.vocab_size > 0 && c.num_attention_heads > 0 && c.num_key_value_heads > 0,
              "config sizes must be positive");
  TORCH_CHECK(c.num_attention_heads % c.num_key_value_heads == 0,
              "num_attention_heads must be a multiple of num_key_value_heads");
  TORCH_CHECK(c.head_dim.has_value() || c.hidden_size % c.num_attention_heads == 0,
              "hidden_size must be a multiple of num_attention_heads without head_dim");
  TORCH_CHECK(HfHeadDim(c) % 2 == 0, "head_dim must be even for RoPE");
  TORCH_CHECK(c.model_type != "qwen2" || c.attention_bias,
              "qwen2 always has q/k/v biases: set attention_bias");
  TORCH_CHECK(c.model_type != "mistral" || !c.attention_bias, "mistral has no attention biases");
  TORCH_CHECK(!c.sliding_window.has_value() || *c.sliding_window > 0,
              "sliding_window must be positive");
}

// Whether o_proj has a bias: transformers' Llama and Qwen3 use attention_bias
// for all four projections, Qwen2 only for q/k/v, Mistral for none.
bool HasOutputBias(const HfConfig& c) {
  return c.attention_bias && (c.model_type == "llama" || c.model_type == "qwen3");
}

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

// transformers' RMSNorm: in float32, x * rsqrt(mean(x^2) + eps), cast back to
// the input dtype, then times the weight.
at::Tensor RmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  const at::Tensor h = x.to(at::kFloat);
  const at::Tensor variance = h.pow(2).mean({-1}, /*keepdim=*/true);
  return weight * (h * at::rsqrt(variance + eps)).to(x.scalar_type());
}

// rotate_half: [x1, x2] -> [-x2, x1] over the last dimension.
at::Tensor RotateHalf(const at::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return at::cat({-x.slice(-1, half), x.slice(-1, 0, half)}, -1);
}

}  // namespace

int64_t HfHeadDim(const HfConfig& config) {
  return config.head_dim.has_value() ? *config.head_dim
                                     : config.hidden_size / config.num_attention_heads;
}

std::string ToConfigJson(const HfConfig& c) {
  CheckConfig(c);
  std::ostringstream out;
  out << "{\n";
  out << "  \"architectures\": [\"" << Architecture(c.model_type) << "\"],\n";
  out << "  \"model_type\": \"" << c.model_type << "\",\n";
  out << "  \"torch_dtype\": \"float32\",\n";
  out << "  \"hidden_act\": \"silu\",\n";
  out << "  \"hidden_size\": " << c.hidden_size << ",\n";
  out << "  \"intermediate_size\": " << c.intermediate_size << ",\n";
  out << "  \"num_hidden_layers\": " << c.num_hidden_layers << ",\n";
  out << "  \"num_attention_heads\": " << c.num_attention_heads << ",\n";
  out << "  \"num_key_value_heads\": " << c.num_key_value_heads << ",\n";
  if (c.head_dim.has_value() || c.model_type == "qwen3") {
    out << "  \"head_dim\": " << HfHeadDim(c) << ",\n";
  }
  out << "  \"vocab_size\": " << c.vocab_size << ",\n";
  out << "  \"max_position_embeddings\": " << c.max_position_embeddings << ",\n";
  out << "  \"rms_norm_eps\": " << JsonDouble(c.rms_norm_eps) << ",\n";
  out << "  \"rope_theta\": " << JsonDouble(c.rope_theta) << ",\n";
  if (c.rope_scaling.has_value()) {
    const HfConfig::Llama3Scaling& s = *c.rope_scaling;
    out << "  \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": " << JsonDouble(s.factor)
        << ", \"low_freq_factor\": " << JsonDouble(s.low_freq_factor)
        << ", \"high_freq_factor\": " << JsonDouble(s.high_freq_factor)
        << ", \"original_max_position_embeddings\": " << s.original_max_position_embeddings
        << "},\n";
  } else {
    out << "  \"rope_scaling\": null,\n";
  }
  if (c.model_type == "qwen2" || c.model_type == "qwen3") {
    out << "  \"use_sliding_window\": false,\n";
    out << "  \"max_window_layers\": " << c.num_hidden_layers << ",\n";
  }
  if (c.model_type != "llama") {
    out << "  \"sliding_window\": ";
    if (c.sliding_window.has_value()) {
      out << *c.sliding_window;
    } else {
      out << "null";
    }
    out << ",\n";
  }
  if (c.model_type == "llama") out << "  \"mlp_bias\": false,\n";
  out << "  \"attention_bias\": " << (c.attention_bias ? "true" : "false") << ",\n";
  out << "  \"attention_dropout\": 0.0,\n";
  out << "  \"tie_word_embeddings\": " << (c.tie_word_embeddings ? "true" : "false") << "\n";
  out << "}\n";
  return out.str();
}

std::map<std::string, at::Tensor> MakeHfStateDict(const HfConfig& c, uint64_t seed) {
  CheckConfig(c);
  at::Generator generator = at::detail::createCPUGenerator(seed);
  const at::TensorOptions options = at::TensorOptions().dtype(at::kFloat);
  auto normal = [&](std::vector<int64_t> shape) { return at::randn(shape, generator, options); };
  auto linear_weight = [&](int64_t out_features, int64_t in_features) {
    return normal({out_features, in_features}) / std::sqrt(static_cast<double>(in_features));
  };
  auto norm_weight = [&](int64_t size) { return 1.0 + 0.1 * normal({size}); };
  auto bias = [&](int64_t size) { return 0.1 * normal({size}); };

  const int64_t hidden = c.hidden_size, head_dim = HfHeadDim(c);
  const int64_t q_width = c.num_attention_heads * head_dim;
  const int64_t kv_width = c.num_key_value_heads * head_dim;
  std::map<std::string, at::Tensor> state;
  // Drawn in a fixed order so that the values depend only on config and seed.
  state["model.embed_tokens.weight"] = 0.5 * normal({c.vocab_size, hidden});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    state[p + "input_layernorm.weight"] = norm_weight(hidden);
    state[p + "self_attn.q_proj.weight"] = linear_weight(q_width, hidden);
    state[p + "self_attn.k_proj.weight"] = linear_weight(kv_width, hidden);
    state[p + "self_attn.v_proj.weight"] = linear_weight(kv_width, hidden);
    state[p + "self_attn.o_proj.weight"] = linear_weight(hidden, q_width);
    if (c.attention_bias) {
      state[p + "self_attn.q_proj.bias"] = bias(q_width);
      state[p + "self_attn.k_proj.bias"] = bias(kv_width);
      state[p + "self_attn.v_proj.bias"] = bias(kv_width);
    }
    if (HasOutputBias(c)) state[p + "self_attn.o_proj.bias"] = bias(hidden);
    if (c.model_type == "qwen3") {
      state[p + "self_attn.q_norm.weight"] = norm_weight(head_dim);
      state[p + "self_attn.k_norm.weight"] = norm_weight(head_dim);
    }
    state[p + "post_attention_layernorm.weight"] = norm_weight(hidden);
    state[p + "mlp.gate_proj.weight"] = linear_weight(c.intermediate_size, hidden);
    state[p + "mlp.up_proj.weight"] = linear_weight(c.intermediate_size, hidden);
    state[p + "mlp.down_proj.weight"] = linear_weight(hidden, c.intermediate_size);
  }
  state["model.norm.weight"] = norm_weight(hidden);
  if (!c.tie_word_embeddings) state["lm_head.weight"] = linear_weight(c.vocab_size, hidden);
  return state;
}

at::Tensor HfRopeInverseFrequencies(const HfConfig& c) {
  CheckConfig(c);
  const int64_t dim = HfHeadDim(c);
  // _compute_default_rope_parameters: 1.0 / (base ** (arange(0, dim, 2).float() / dim)),
  // all in float32 (Python's `1.0 / t` is t.reciprocal() * 1.0).
  const at::Tensor exponents = at::arange(0, dim, 2, at::kLong).to(at::kFloat) / dim;
  at::Tensor inv_freq = at::reciprocal(at::pow(c.rope_theta, exponents));
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

at::Tensor HfReferenceLogits(const HfConfig& c, const std::map<std::string, at::Tensor>& state,
                             const at::Tensor& input_ids) {
  CheckConfig(c);
  TORCH_CHECK(input_ids.dim() == 2, "input_ids must be [batch, seq]");
  TORCH_CHECK(input_ids.scalar_type() == at::kLong, "input_ids must be int64");
  TORCH_CHECK(input_ids.numel() > 0, "input_ids must not be empty");
  TORCH_CHECK(
      input_ids.min().item<int64_t>() >= 0 && input_ids.max().item<int64_t>() < c.vocab_size,
      "input_ids out of the vocabulary");

  const int64_t batch = input_ids.size(0), seq = input_ids.size(1);
  const int64_t hidden = c.hidden_size, head_dim = HfHeadDim(c);
  const int64_t heads = c.num_attention_heads, kv_heads = c.num_key_value_heads;
  const int64_t groups = heads / kv_heads;
  const double scaling = std::pow(static_cast<double>(head_dim), -0.5);
  const bool qk_norm = c.model_type == "qwen3";
  const std::optional<int64_t> window =
      c.model_type == "mistral" ? c.sliding_window : std::optional<int64_t>();

  StateReader reader(state);
  const at::Tensor embed = reader.Get("model.embed_tokens.weight", {c.vocab_size, hidden});

  // Rotary tables [seq, head_dim]: freqs = position * inv_freq in float32, emb =
  // cat(freqs, freqs), cos/sin of that (attention_scaling is 1 for these types).
  const at::Tensor positions = at::arange(seq, at::kLong).to(at::kFloat);
  const at::Tensor freqs = at::outer(positions, HfRopeInverseFrequencies(c));
  const at::Tensor emb = at::cat({freqs, freqs}, -1);
  const at::Tensor cos = emb.cos().view({1, 1, seq, head_dim});
  const at::Tensor sin = emb.sin().view({1, 1, seq, head_dim});

  // Eager additive mask [seq, seq]: 0 where query i may see key j (j <= i, and
  // i - j < sliding_window for Mistral), finfo(float32).min elsewhere.
  const at::Tensor query_index = at::arange(seq, at::kLong).view({seq, 1});
  const at::Tensor key_index = at::arange(seq, at::kLong).view({1, seq});
  at::Tensor allowed = key_index <= query_index;
  if (window.has_value()) allowed = at::logical_and(allowed, key_index > query_index - *window);
  const at::Tensor mask =
      at::zeros({seq, seq}, at::kFloat)
          .masked_fill(at::logical_not(allowed), std::numeric_limits<float>::lowest())
          .view({1, 1, seq, seq});

  at::Tensor h = at::embedding(embed, input_ids);  // [batch, seq, hidden]
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    const at::Tensor in_norm = reader.Get(p + "input_layernorm.weight", {hidden});
    const at::Tensor wq = reader.Get(p + "self_attn.q_proj.weight", {heads * head_dim, hidden});
    const at::Tensor wk = reader.Get(p + "self_attn.k_proj.weight", {kv_heads * head_dim, hidden});
    const at::Tensor wv = reader.Get(p + "self_attn.v_proj.weight", {kv_heads * head_dim, hidden});
    const at::Tensor wo = reader.Get(p + "self_attn.o_proj.weight", {hidden, heads * head_dim});
    c10::optional<at::Tensor> bq, bk, bv, bo;  // at::linear takes c10::optional.
    if (c.attention_bias) {
      bq = reader.Get(p + "self_attn.q_proj.bias", {heads * head_dim});
      bk = reader.Get(p + "self_attn.k_proj.bias", {kv_heads * head_dim});
      bv = reader.Get(p + "self_attn.v_proj.bias", {kv_heads * head_dim});
    }
    if (HasOutputBias(c)) bo = reader.Get(p + "self_attn.o_proj.bias", {hidden});

    // Self attention.
    const at::Tensor residual = h;
    const at::Tensor x = RmsNorm(h, in_norm, c.rms_norm_eps);
    at::Tensor q = at::linear(x, wq, bq).view({batch, seq, heads, head_dim});
    at::Tensor k = at::linear(x, wk, bk).view({batch, seq, kv_heads, head_dim});
    at::Tensor v = at::linear(x, wv, bv).view({batch, seq, kv_heads, head_dim});
    if (qk_norm) {  // Qwen3: RMSNorm over each head's head_dim, before RoPE.
      q = RmsNorm(q, reader.Get(p + "self_attn.q_norm.weight", {head_dim}), c.rms_norm_eps);
      k = RmsNorm(k, reader.Get(p + "self_attn.k_norm.weight", {head_dim}), c.rms_norm_eps);
    }
    q = q.transpose(1, 2);  // [batch, heads, seq, head_dim]
    k = k.transpose(1, 2);
    v = v.transpose(1, 2);
    q = q * cos + RotateHalf(q) * sin;
    k = k * cos + RotateHalf(k) * sin;
    // repeat_kv: kv head g serves query heads g * groups .. (g + 1) * groups - 1.
    k = k.unsqueeze(2)
            .expand({batch, kv_heads, groups, seq, head_dim})
            .reshape({batch, heads, seq, head_dim});
    v = v.unsqueeze(2)
            .expand({batch, kv_heads, groups, seq, head_dim})
            .reshape({batch, heads, seq, head_dim});
    at::Tensor weights = at::matmul(q, k.transpose(2, 3)) * scaling + mask;
    weights = at::softmax(weights, -1, at::kFloat);
    const at::Tensor attended =
        at::matmul(weights, v).transpose(1, 2).contiguous().reshape({batch, seq, heads * head_dim});
    h = residual + at::linear(attended, wo, bo);

    // MLP: down(silu(gate(x)) * up(x)).
    const at::Tensor residual2 = h;
    const at::Tensor y =
        RmsNorm(h, reader.Get(p + "post_attention_layernorm.weight", {hidden}), c.rms_norm_eps);
    const at::Tensor gate =
        at::linear(y, reader.Get(p + "mlp.gate_proj.weight", {c.intermediate_size, hidden}));
    const at::Tensor up =
        at::linear(y, reader.Get(p + "mlp.up_proj.weight", {c.intermediate_size, hidden}));
    h = residual2 + at::linear(at::silu(gate) * up, reader.Get(p + "mlp.down_proj.weight",
                                                               {hidden, c.intermediate_size}));
  }
  h = RmsNorm(h, reader.Get("model.norm.weight", {hidden}), c.rms_norm_eps);

  at::Tensor head;
  if (c.tie_word_embeddings) {
    head = embed;
    reader.Ignore("lm_head.weight");
  } else {
    head = reader.Get("lm_head.weight", {c.vocab_size, hidden});
  }
  reader.CheckAllUsed();
  return at::linear(h, head);
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

}  // namespace modelhub::testing
