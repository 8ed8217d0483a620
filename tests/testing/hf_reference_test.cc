#include "tests/testing/hf_reference.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace modelhub::testing {
namespace {

using Vec = std::vector<double>;
using StateDict = std::map<std::string, at::Tensor>;

constexpr double kPi = 3.14159265358979323846;

std::vector<HfConfig> TinyConfigs() {
  return {TinyLlama3Config(),  TinyQwen2Config(),      TinyQwen3Config(),  TinyMistralConfig(),
          TinyGemmaConfig(),   TinyGemma2Config(),     TinyGemma3Config(), TinyOlmo2Config(),
          TinyGraniteConfig(), TinyStarcoder2Config(), TinyPhi3Config(),   TinyPhi3PlainConfig()};
}

// Token ids [rows.size(), seq] from explicit rows.
at::Tensor Ids(const std::vector<std::vector<int64_t>>& rows) {
  const int64_t seq = static_cast<int64_t>(rows.at(0).size());
  std::vector<int64_t> flat;
  for (const auto& row : rows) flat.insert(flat.end(), row.begin(), row.end());
  return at::tensor(flat, at::kLong).view({static_cast<int64_t>(rows.size()), seq});
}

// A fixed pseudo-random row of `seq` ids below `vocab`.
std::vector<int64_t> Row(int64_t seq, int64_t vocab, int64_t salt) {
  std::vector<int64_t> row;
  for (int64_t t = 0; t < seq; ++t) row.push_back((t * 37 + salt * 11 + 5) % vocab);
  return row;
}

double MaxAbsDiff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

Vec ToVec(const at::Tensor& t) {
  const at::Tensor d = t.to(at::kDouble).contiguous();
  return Vec(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

// The activations, from their formulas.
double Silu(double x) { return x / (1.0 + std::exp(-x)); }
double GeluErf(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }
double GeluTanh(double x) {
  return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / kPi) * (x + 0.044715 * x * x * x)));
}

// ---------------------------------------------------------------------------
// An elementary second implementation: plain loops over doubles, written from
// the same Hugging Face semantics but sharing no code or tensor ops with
// hf_reference.cc.
class Elementary {
 public:
  Elementary(const HfConfig& c, const StateDict& state) : c_(c), state_(state), t_(c.model_type) {
    d_ = c.head_dim.has_value() ? *c.head_dim : c.hidden_size / c.num_attention_heads;
    rd_ = static_cast<int64_t>(static_cast<double>(d_) * c.partial_rotary_factor);
  }

  // Logits [seq][vocab] for one sequence at positions 0..seq-1.
  std::vector<Vec> Forward(const std::vector<int64_t>& tokens) const {
    const int64_t seq = static_cast<int64_t>(tokens.size()), hidden = c_.hidden_size;
    const Vec embed = W("model.embed_tokens.weight");
    double embed_scale = 1.0;
    if (Gemma()) embed_scale = std::sqrt(static_cast<double>(hidden));
    if (t_ == "granite") embed_scale = c_.embedding_multiplier;
    const double residual_scale = t_ == "granite" ? c_.residual_multiplier : 1.0;
    const bool sandwich = t_ == "gemma2" || t_ == "gemma3_text";
    const bool post_norms = sandwich || t_ == "olmo2";
    std::vector<Vec> h(seq, Vec(hidden));
    for (int64_t t = 0; t < seq; ++t) {
      for (int64_t e = 0; e < hidden; ++e) h[t][e] = embed[tokens[t] * hidden + e] * embed_scale;
    }
    for (int64_t layer = 0; layer < c_.num_hidden_layers; ++layer) {
      const std::string p = "model.layers." + std::to_string(layer) + ".";
      std::vector<Vec> x(seq);
      for (int64_t t = 0; t < seq; ++t) {
        x[t] = t_ == "olmo2" ? h[t] : ModelNorm(h[t], p + "input_layernorm");
      }
      const std::vector<Vec> attn = Attention(p, layer, x);
      for (int64_t t = 0; t < seq; ++t) {
        const Vec a = post_norms ? ModelNorm(attn[t], p + "post_attention_layernorm") : attn[t];
        for (int64_t e = 0; e < hidden; ++e) h[t][e] += a[e] * residual_scale;
      }
      for (int64_t t = 0; t < seq; ++t) {
        Vec y = h[t];
        if (sandwich) {
          y = ModelNorm(h[t], p + "pre_feedforward_layernorm");
        } else if (t_ != "olmo2") {
          y = ModelNorm(h[t], p + "post_attention_layernorm");
        }
        Vec m = Mlp(p, y);
        if (post_norms) m = ModelNorm(m, p + "post_feedforward_layernorm");
        for (int64_t e = 0; e < hidden; ++e) h[t][e] += m[e] * residual_scale;
      }
    }
    const std::string head =
        c_.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight";
    std::vector<Vec> logits(seq);
    for (int64_t t = 0; t < seq; ++t) {
      logits[t] = Linear(ModelNorm(h[t], "model.norm"), head, "");
      for (double& v : logits[t]) {
        if (t_ == "granite") v /= c_.logits_scaling;
        if (c_.final_logit_softcapping.has_value()) {
          const double cap = *c_.final_logit_softcapping;
          v = cap * std::tanh(v / cap);
        }
      }
    }
    return logits;
  }

  // The sliding window of a layer, if any.
  std::optional<int64_t> Window(int64_t layer) const {
    if (t_ == "mistral" || t_ == "starcoder2" || t_ == "phi3") return c_.sliding_window;
    if (t_ == "gemma2" && layer % 2 == 0) return c_.sliding_window;
    if (t_ == "gemma3_text" && (layer + 1) % c_.sliding_window_pattern != 0) {
      return c_.sliding_window;
    }
    return std::nullopt;
  }

  // The rotary inverse frequency of pair i on `layer` in a forward over `seq`
  // tokens: gemma3 sliding layers use the local base unscaled; phi3 divides by
  // its longrope factor (long ones when seq > original_max_position_embeddings);
  // otherwise rope_theta with linear or llama3 scaling. The exponent is over
  // the rotary width rd_ (d_ but for phi3's partial rotary).
  double InvFreq(int64_t i, int64_t layer, int64_t seq) const {
    const double exponent = -2.0 * static_cast<double>(i) / static_cast<double>(rd_);
    if (t_ == "phi3" && c_.longrope.has_value()) {
      const HfConfig::LongRopeScaling& s = *c_.longrope;
      const bool use_long = seq > s.original_max_position_embeddings;
      const double ext = use_long ? s.long_factor.at(i) : s.short_factor.at(i);
      return std::pow(c_.rope_theta, exponent) / ext;
    }
    if (t_ == "gemma3_text" && Window(layer).has_value()) {
      return std::pow(c_.rope_local_base_freq, exponent);
    }
    const double f = std::pow(c_.rope_theta, exponent);
    if (c_.linear_rope_factor.has_value()) return f / *c_.linear_rope_factor;
    if (!c_.rope_scaling.has_value()) return f;
    const HfConfig::Llama3Scaling& s = *c_.rope_scaling;
    const double old = static_cast<double>(s.original_max_position_embeddings);
    const double wavelen = 2.0 * kPi / f;
    if (wavelen < old / s.high_freq_factor) return f;
    if (wavelen > old / s.low_freq_factor) return f / s.factor;
    const double smooth =
        (old / wavelen - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
    return (1.0 - smooth) * f / s.factor + smooth * f;
  }

 private:
  bool Gemma() const { return t_ == "gemma" || t_ == "gemma2" || t_ == "gemma3_text"; }

  Vec W(const std::string& name) const { return ToVec(state_.at(name)); }

  // y = W x (+ b), W [out, in] row-major.
  Vec Linear(const Vec& x, const std::string& weight, const std::string& bias) const {
    const Vec w = W(weight);
    const size_t in = x.size(), out = w.size() / in;
    Vec y(out, 0.0);
    for (size_t o = 0; o < out; ++o) {
      for (size_t i = 0; i < in; ++i) y[o] += w[o * in + i] * x[i];
    }
    if (!bias.empty()) {
      const Vec b = W(bias);
      for (size_t o = 0; o < out; ++o) y[o] += b[o];
    }
    return y;
  }

  // RMSNorm with weight w, or with (1 + w) for the gemma types.
  Vec RmsNorm(const Vec& x, const Vec& weight, bool one_plus) const {
    double sum_sq = 0.0;
    for (double v : x) sum_sq += v * v;
    const double r = 1.0 / std::sqrt(sum_sq / static_cast<double>(x.size()) + c_.rms_norm_eps);
    Vec y(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      y[i] = (one_plus ? 1.0 + weight[i] : weight[i]) * x[i] * r;
    return y;
  }

  // LayerNorm: (x - mean) / sqrt(biased variance + eps) * w + b.
  Vec LayerNorm(const Vec& x, const Vec& weight, const Vec& bias) const {
    const double n = static_cast<double>(x.size());
    double mean = 0.0, var = 0.0;
    for (double v : x) mean += v / n;
    for (double v : x) var += (v - mean) * (v - mean) / n;
    Vec y(x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      y[i] = (x[i] - mean) / std::sqrt(var + c_.rms_norm_eps) * weight[i] + bias[i];
    }
    return y;
  }

  // The model's norm module `name` (name.weight, and name.bias for LayerNorm).
  Vec ModelNorm(const Vec& x, const std::string& name) const {
    if (t_ == "starcoder2") return LayerNorm(x, W(name + ".weight"), W(name + ".bias"));
    return RmsNorm(x, W(name + ".weight"), Gemma());
  }

  double Act(double x) const {
    if (c_.hidden_act == "gelu") return GeluErf(x);
    if (c_.hidden_act == "gelu_pytorch_tanh") return GeluTanh(x);
    return Silu(x);
  }

  // phi3's longrope multiplies cos and sin by sqrt(1 + ln(s) / ln(original))
  // for s = max_position_embeddings / original > 1.
  double AttentionFactor() const {
    if (t_ != "phi3" || !c_.longrope.has_value()) return 1.0;
    const double original = static_cast<double>(c_.longrope->original_max_position_embeddings);
    const double s = static_cast<double>(c_.max_position_embeddings) / original;
    return s <= 1.0 ? 1.0 : std::sqrt(1.0 + std::log(s) / std::log(original));
  }

  Vec Mlp(const std::string& p, const Vec& y) const {
    if (t_ == "phi3") {  // gate_up_proj rows: gate, then up.
      const Vec gate_up = Linear(y, p + "mlp.gate_up_proj.weight", "");
      const size_t inter = gate_up.size() / 2;
      Vec act(inter);
      for (size_t i = 0; i < inter; ++i) act[i] = gate_up[inter + i] * Act(gate_up[i]);
      return Linear(act, p + "mlp.down_proj.weight", "");
    }
    if (t_ == "starcoder2") {
      const bool b = c_.attention_bias;
      Vec fc = Linear(y, p + "mlp.c_fc.weight", b ? p + "mlp.c_fc.bias" : "");
      for (double& v : fc) v = Act(v);
      return Linear(fc, p + "mlp.c_proj.weight", b ? p + "mlp.c_proj.bias" : "");
    }
    const Vec gate = Linear(y, p + "mlp.gate_proj.weight", "");
    const Vec up = Linear(y, p + "mlp.up_proj.weight", "");
    Vec act(gate.size());
    for (size_t i = 0; i < gate.size(); ++i) act[i] = Act(gate[i]) * up[i];
    return Linear(act, p + "mlp.down_proj.weight", "");
  }

  // Rotates pairs (i, i + rd/2) of one head's first rd features by position *
  // InvFreq(i, layer, seq), cos and sin times AttentionFactor(); features
  // rd..d-1 pass through.
  Vec Rope(const Vec& x, int64_t position, int64_t layer, int64_t seq) const {
    const int64_t half = rd_ / 2;
    const double a = AttentionFactor();
    Vec y = x;
    for (int64_t i = 0; i < half; ++i) {
      const double angle = static_cast<double>(position) * InvFreq(i, layer, seq);
      const double cos_a = a * std::cos(angle), sin_a = a * std::sin(angle);
      y[i] = x[i] * cos_a - x[i + half] * sin_a;
      y[i + half] = x[i + half] * cos_a + x[i] * sin_a;
    }
    return y;
  }

  Vec HeadSlice(const Vec& v, int64_t head) const {
    return Vec(v.begin() + head * d_, v.begin() + (head + 1) * d_);
  }

  std::vector<Vec> Attention(const std::string& p, int64_t layer, const std::vector<Vec>& x) const {
    const int64_t seq = static_cast<int64_t>(x.size());
    const int64_t heads = c_.num_attention_heads, kv_heads = c_.num_key_value_heads;
    const bool qkv_bias = c_.attention_bias;
    const bool o_bias = c_.attention_bias && t_ != "qwen2";
    const bool head_norm = t_ == "qwen3" || t_ == "gemma3_text";
    double scale = 1.0 / std::sqrt(static_cast<double>(d_));
    if (t_ == "gemma2" || t_ == "gemma3_text") scale = 1.0 / std::sqrt(*c_.query_pre_attn_scalar);
    if (t_ == "granite") scale = c_.attention_multiplier;
    // q[t][h], k[t][g], v[t][g]: per position and head, after norms and RoPE.
    std::vector<std::vector<Vec>> q(seq), k(seq), v(seq);
    for (int64_t t = 0; t < seq; ++t) {
      Vec qt, kt, vt;
      if (t_ == "phi3") {  // qkv_proj rows: heads * d of q, kv_heads * d of k, then v.
        const Vec qkv = Linear(x[t], p + "self_attn.qkv_proj.weight", "");
        const auto q_end = qkv.begin() + heads * d_, k_end = q_end + kv_heads * d_;
        qt = Vec(qkv.begin(), q_end);
        kt = Vec(q_end, k_end);
        vt = Vec(k_end, qkv.end());
      } else {
        qt = Linear(x[t], p + "self_attn.q_proj.weight",
                    qkv_bias ? p + "self_attn.q_proj.bias" : "");
        kt = Linear(x[t], p + "self_attn.k_proj.weight",
                    qkv_bias ? p + "self_attn.k_proj.bias" : "");
        vt = Linear(x[t], p + "self_attn.v_proj.weight",
                    qkv_bias ? p + "self_attn.v_proj.bias" : "");
      }
      if (t_ == "olmo2") {  // One RMSNorm over all heads together.
        qt = RmsNorm(qt, W(p + "self_attn.q_norm.weight"), false);
        kt = RmsNorm(kt, W(p + "self_attn.k_norm.weight"), false);
      }
      for (int64_t h = 0; h < heads; ++h) {
        Vec qh = HeadSlice(qt, h);
        if (head_norm) qh = RmsNorm(qh, W(p + "self_attn.q_norm.weight"), Gemma());
        q[t].push_back(Rope(qh, t, layer, seq));
      }
      for (int64_t g = 0; g < kv_heads; ++g) {
        Vec kh = HeadSlice(kt, g);
        if (head_norm) kh = RmsNorm(kh, W(p + "self_attn.k_norm.weight"), Gemma());
        k[t].push_back(Rope(kh, t, layer, seq));
        v[t].push_back(HeadSlice(vt, g));
      }
    }
    const std::optional<int64_t> window = Window(layer);
    std::vector<Vec> out(seq);
    for (int64_t t = 0; t < seq; ++t) {
      Vec concat;
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t g = h / (heads / kv_heads);
        const int64_t first = window.has_value() ? std::max<int64_t>(0, t - *window + 1) : 0;
        Vec scores;
        double max_score = -1e300;
        for (int64_t j = first; j <= t; ++j) {
          double s = 0.0;
          for (int64_t e = 0; e < d_; ++e) s += q[t][h][e] * k[j][g][e];
          s *= scale;
          if (t_ == "gemma2" && c_.attn_logit_softcapping.has_value()) {
            s = *c_.attn_logit_softcapping * std::tanh(s / *c_.attn_logit_softcapping);
          }
          scores.push_back(s);
          max_score = std::max(max_score, s);
        }
        double total = 0.0;
        for (double& s : scores) {
          s = std::exp(s - max_score);
          total += s;
        }
        Vec o(d_, 0.0);
        for (int64_t j = first; j <= t; ++j) {
          for (int64_t e = 0; e < d_; ++e) o[e] += scores[j - first] / total * v[j][g][e];
        }
        concat.insert(concat.end(), o.begin(), o.end());
      }
      out[t] =
          Linear(concat, p + "self_attn.o_proj.weight", o_bias ? p + "self_attn.o_proj.bias" : "");
    }
    return out;
  }

  const HfConfig& c_;
  const StateDict& state_;
  const std::string t_;
  int64_t d_;
  int64_t rd_;  // the rotary width: int(d_ * partial_rotary_factor)
};

// Checks `logits` [seq, vocab] (one batch row) against the elementary result:
// |a - b| <= abs_tol + rel_tol * |b| everywhere.
void ExpectMatchesElementary(const HfConfig& config, const StateDict& state,
                             const std::vector<int64_t>& tokens, const at::Tensor& logits,
                             double abs_tol, double rel_tol) {
  const std::vector<Vec> expected = Elementary(config, state).Forward(tokens);
  const Vec got = ToVec(logits);
  ASSERT_EQ(got.size(), expected.size() * static_cast<size_t>(config.vocab_size));
  for (size_t t = 0; t < expected.size(); ++t) {
    for (int64_t v = 0; v < config.vocab_size; ++v) {
      const double want = expected[t][v];
      const double have = got[t * config.vocab_size + v];
      ASSERT_LE(std::abs(have - want), abs_tol + rel_tol * std::abs(want))
          << config.model_type << " position " << t << " vocab " << v;
    }
  }
}

// ---------------------------------------------------------------------------

TEST(HfReferenceTest, HandComputedOneLayerHiddenFourOneHead) {
  HfConfig c;
  c.model_type = "llama";
  c.hidden_size = 4;
  c.intermediate_size = 3;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 1;
  c.num_key_value_heads = 1;
  c.vocab_size = 5;
  c.max_position_embeddings = 16;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 10000.0;
  const StateDict state = MakeHfStateDict(c, 3);
  ASSERT_EQ(state.size(), 12u);  // embed, 2 norms, q/k/v/o, gate/up/down, final norm, lm_head
  const std::vector<int64_t> tokens = {3, 0, 4, 3};
  const at::Tensor logits = HfReferenceLogits(c, state, Ids({tokens}));
  ASSERT_EQ(logits.sizes(), (std::vector<int64_t>{1, 4, 5}));
  ExpectMatchesElementary(c, state, tokens, logits[0], 1e-5, 1e-5);
}

TEST(HfReferenceTest, TinyConfigsMatchElementaryLoops) {
  for (const HfConfig& c : TinyConfigs()) {
    const StateDict state = MakeHfStateDict(c, 11);
    const std::vector<std::vector<int64_t>> rows = {Row(10, c.vocab_size, 1),
                                                    Row(10, c.vocab_size, 2)};
    const at::Tensor logits = HfReferenceLogits(c, state, Ids(rows));
    for (size_t b = 0; b < rows.size(); ++b) {
      ExpectMatchesElementary(c, state, rows[b], logits[b], 2e-5, 2e-5);
    }
  }
}

// The Hugging Face tensor names of a model of `c`, written out per type.
std::set<std::string> ExpectedNames(const HfConfig& c) {
  const std::string& t = c.model_type;
  const std::vector<std::string> qkvo = {"self_attn.q_proj.weight", "self_attn.k_proj.weight",
                                         "self_attn.v_proj.weight", "self_attn.o_proj.weight"};
  const std::vector<std::string> gated = {"mlp.gate_proj.weight", "mlp.up_proj.weight",
                                          "mlp.down_proj.weight"};
  std::vector<std::string> layer;  // under model.layers.N.
  auto add = [&layer](const std::vector<std::string>& names) {
    layer.insert(layer.end(), names.begin(), names.end());
  };
  if (t == "starcoder2") {
    add({"input_layernorm.weight", "input_layernorm.bias", "post_attention_layernorm.weight",
         "post_attention_layernorm.bias", "mlp.c_fc.weight", "mlp.c_proj.weight"});
    add(qkvo);
    if (c.attention_bias) {
      add({"self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias",
           "self_attn.o_proj.bias", "mlp.c_fc.bias", "mlp.c_proj.bias"});
    }
  } else if (t == "phi3") {
    add({"input_layernorm.weight", "post_attention_layernorm.weight", "self_attn.qkv_proj.weight",
         "self_attn.o_proj.weight", "mlp.gate_up_proj.weight", "mlp.down_proj.weight"});
  } else {
    if (t == "olmo2") {
      add({"self_attn.q_norm.weight", "self_attn.k_norm.weight", "post_attention_layernorm.weight",
           "post_feedforward_layernorm.weight"});
    } else if (t == "gemma2" || t == "gemma3_text") {
      add({"input_layernorm.weight", "post_attention_layernorm.weight",
           "pre_feedforward_layernorm.weight", "post_feedforward_layernorm.weight"});
      if (t == "gemma3_text") add({"self_attn.q_norm.weight", "self_attn.k_norm.weight"});
    } else {  // llama, qwen2, qwen3, mistral, gemma, granite
      add({"input_layernorm.weight", "post_attention_layernorm.weight"});
      if (t == "qwen3") add({"self_attn.q_norm.weight", "self_attn.k_norm.weight"});
    }
    add(qkvo);
    add(gated);
    if (c.attention_bias) {
      add({"self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias"});
      if (t != "qwen2") add({"self_attn.o_proj.bias"});
    }
  }
  std::set<std::string> names = {"model.embed_tokens.weight", "model.norm.weight"};
  if (t == "starcoder2") names.insert("model.norm.bias");
  if (!c.tie_word_embeddings) names.insert("lm_head.weight");
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    for (const std::string& name : layer) {
      EXPECT_TRUE(names.insert("model.layers." + std::to_string(i) + "." + name).second) << name;
    }
  }
  return names;
}

std::set<std::string> Keys(const StateDict& state) {
  std::set<std::string> keys;
  for (const auto& entry : state) keys.insert(entry.first);
  return keys;
}

TEST(HfReferenceTest, ShapesNamesAndFiniteness) {
  for (const HfConfig& c : TinyConfigs()) {
    const StateDict state = MakeHfStateDict(c, 1);
    EXPECT_EQ(Keys(state), ExpectedNames(c)) << c.model_type;
    EXPECT_EQ(state.count("lm_head.weight"), c.tie_word_embeddings ? 0u : 1u) << c.model_type;
    for (const auto& entry : state) EXPECT_EQ(entry.second.scalar_type(), at::kFloat);
    const at::Tensor logits =
        HfReferenceLogits(c, state, Ids({Row(7, c.vocab_size, 0), Row(7, c.vocab_size, 4)}));
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 7, c.vocab_size})) << c.model_type;
    EXPECT_EQ(logits.scalar_type(), at::kFloat);
    EXPECT_TRUE(at::isfinite(logits).all().item<bool>()) << c.model_type;
    // O(1) activations: logits neither vanish nor blow up.
    const double spread = logits.std().item<double>();
    EXPECT_GT(spread, 0.1) << c.model_type;
    EXPECT_LT(spread, 100.0) << c.model_type;
  }
  const HfConfig qwen3 = TinyQwen3Config();
  const StateDict state = MakeHfStateDict(qwen3, 1);
  EXPECT_EQ(state.at("model.layers.0.self_attn.q_proj.weight").sizes(),
            (std::vector<int64_t>{4 * 32, 64}));
  EXPECT_EQ(state.at("model.layers.1.self_attn.k_norm.weight").sizes(), (std::vector<int64_t>{32}));
  EXPECT_EQ(state.at("model.layers.0.self_attn.o_proj.weight").sizes(),
            (std::vector<int64_t>{64, 4 * 32}));
  const StateDict qwen2 = MakeHfStateDict(TinyQwen2Config(), 1);
  EXPECT_EQ(qwen2.count("model.layers.0.self_attn.v_proj.bias"), 1u);
  EXPECT_EQ(qwen2.count("model.layers.0.self_attn.o_proj.bias"), 0u);
}

// The tensors of the new tiny configs, name by name and shape by shape.
TEST(HfReferenceTest, NewTypesTensorNamesAndShapes) {
  using Shape = std::vector<int64_t>;
  const StateDict gemma = MakeHfStateDict(TinyGemmaConfig(), 1);
  EXPECT_EQ(gemma.size(), 2u + 2u * 9u);  // embed, norm; per layer 2 norms, q/k/v/o, gate/up/down
  EXPECT_EQ(gemma.at("model.layers.1.self_attn.q_proj.weight").sizes(), (Shape{4 * 32, 64}));
  EXPECT_EQ(gemma.at("model.layers.1.self_attn.k_proj.weight").sizes(), (Shape{2 * 32, 64}));
  EXPECT_EQ(gemma.count("lm_head.weight"), 0u);

  const StateDict gemma2 = MakeHfStateDict(TinyGemma2Config(), 1);
  EXPECT_EQ(gemma2.size(), 2u + 3u * 11u);
  for (const char* name : {"input_layernorm", "post_attention_layernorm",
                           "pre_feedforward_layernorm", "post_feedforward_layernorm"}) {
    EXPECT_EQ(gemma2.at("model.layers.2." + std::string(name) + ".weight").sizes(), (Shape{64}));
  }

  const StateDict gemma3 = MakeHfStateDict(TinyGemma3Config(), 1);
  EXPECT_EQ(gemma3.size(), 2u + 4u * 13u);
  EXPECT_EQ(gemma3.at("model.layers.3.self_attn.q_norm.weight").sizes(), (Shape{32}));
  EXPECT_EQ(gemma3.at("model.layers.3.self_attn.k_norm.weight").sizes(), (Shape{32}));
  EXPECT_EQ(gemma3.at("model.layers.3.pre_feedforward_layernorm.weight").sizes(), (Shape{64}));

  const StateDict olmo2 = MakeHfStateDict(TinyOlmo2Config(), 1);
  EXPECT_EQ(olmo2.size(), 3u + 2u * 11u);  // embed, norm, lm_head (untied)
  EXPECT_EQ(olmo2.count("model.layers.0.input_layernorm.weight"), 0u);
  EXPECT_EQ(olmo2.at("model.layers.0.self_attn.q_norm.weight").sizes(), (Shape{4 * 16}));
  EXPECT_EQ(olmo2.at("model.layers.0.self_attn.k_norm.weight").sizes(), (Shape{2 * 16}));
  EXPECT_EQ(olmo2.at("model.layers.1.post_feedforward_layernorm.weight").sizes(), (Shape{64}));
  EXPECT_EQ(olmo2.at("lm_head.weight").sizes(), (Shape{128, 64}));

  const StateDict granite = MakeHfStateDict(TinyGraniteConfig(), 1);
  EXPECT_EQ(granite.size(), 2u + 2u * 9u);
  EXPECT_EQ(Keys(granite), Keys(MakeHfStateDict(TinyGemmaConfig(), 1)));  // llama's names

  const StateDict starcoder2 = MakeHfStateDict(TinyStarcoder2Config(), 1);
  EXPECT_EQ(starcoder2.size(), 3u + 2u * 16u);
  EXPECT_EQ(starcoder2.at("model.layers.0.input_layernorm.bias").sizes(), (Shape{64}));
  EXPECT_EQ(starcoder2.at("model.layers.0.post_attention_layernorm.bias").sizes(), (Shape{64}));
  EXPECT_EQ(starcoder2.at("model.layers.1.mlp.c_fc.weight").sizes(), (Shape{96, 64}));
  EXPECT_EQ(starcoder2.at("model.layers.1.mlp.c_fc.bias").sizes(), (Shape{96}));
  EXPECT_EQ(starcoder2.at("model.layers.1.mlp.c_proj.weight").sizes(), (Shape{64, 96}));
  EXPECT_EQ(starcoder2.at("model.layers.1.mlp.c_proj.bias").sizes(), (Shape{64}));
  EXPECT_EQ(starcoder2.at("model.layers.1.self_attn.o_proj.bias").sizes(), (Shape{64}));
  EXPECT_EQ(starcoder2.at("model.norm.bias").sizes(), (Shape{64}));
  EXPECT_EQ(starcoder2.count("model.layers.0.mlp.gate_proj.weight"), 0u);
  HfConfig no_bias = TinyStarcoder2Config();
  no_bias.attention_bias = false;
  const StateDict plain = MakeHfStateDict(no_bias, 1);
  EXPECT_EQ(plain.size(), 3u + 2u * 10u);
  EXPECT_EQ(plain.count("model.layers.0.mlp.c_fc.bias"), 0u);
  EXPECT_EQ(plain.count("model.layers.0.input_layernorm.bias"), 1u);  // LayerNorm keeps its bias

  // Gemma stores the w of x * (1 + w): drawn near 0; the others near 1.
  const double gemma_mean = gemma.at("model.norm.weight").mean().item<double>();
  const double granite_mean = granite.at("model.norm.weight").mean().item<double>();
  EXPECT_LT(std::abs(gemma_mean), 0.1);
  EXPECT_LT(std::abs(granite_mean - 1.0), 0.1);
  EXPECT_GT(gemma.at("model.norm.weight").abs().max().item<double>(), 0.01);
}

TEST(HfReferenceTest, StateDictIsDeterministicAndLeavesGlobalRngAlone) {
  for (const HfConfig& c : {TinyQwen3Config(), TinyPhi3Config()}) {
    at::manual_seed(1);
    const StateDict a = MakeHfStateDict(c, 42);
    at::manual_seed(2);
    const StateDict b = MakeHfStateDict(c, 42);
    const StateDict other = MakeHfStateDict(c, 43);
    ASSERT_EQ(a.size(), b.size());
    for (const auto& entry : a) {
      EXPECT_TRUE(at::equal(entry.second, b.at(entry.first))) << entry.first;
      EXPECT_FALSE(at::equal(entry.second, other.at(entry.first))) << entry.first;
    }
    at::manual_seed(7);
    const at::Tensor plain = at::randn({8});
    at::manual_seed(7);
    MakeHfStateDict(c, 42);
    EXPECT_TRUE(at::equal(plain, at::randn({8})));
  }
}

TEST(HfReferenceTest, IsCausal) {
  for (const HfConfig& c : TinyConfigs()) {
    const StateDict state = MakeHfStateDict(c, 5);
    std::vector<int64_t> row = Row(9, c.vocab_size, 3);
    const at::Tensor before = HfReferenceLogits(c, state, Ids({row}));
    row[6] = (row[6] + 1) % c.vocab_size;
    const at::Tensor after = HfReferenceLogits(c, state, Ids({row}));
    EXPECT_LT(MaxAbsDiff(before.slice(1, 0, 6), after.slice(1, 0, 6)), 1e-6) << c.model_type;
    EXPECT_GT(MaxAbsDiff(before.slice(1, 6), after.slice(1, 6)), 1e-3) << c.model_type;
  }
}

TEST(HfReferenceTest, BatchRowsAreIndependent) {
  for (const HfConfig& c : TinyConfigs()) {
    const StateDict state = MakeHfStateDict(c, 6);
    const std::vector<int64_t> r0 = Row(6, c.vocab_size, 1), r1 = Row(6, c.vocab_size, 9);
    const at::Tensor both = HfReferenceLogits(c, state, Ids({r0, r1}));
    EXPECT_LT(MaxAbsDiff(both[0], HfReferenceLogits(c, state, Ids({r0}))[0]), 1e-5);
    EXPECT_LT(MaxAbsDiff(both[1], HfReferenceLogits(c, state, Ids({r1}))[0]), 1e-5);
  }
}

// Whether changing the token at `position` changes the last position's logits.
bool LastDependsOn(const HfConfig& c, const StateDict& state, int64_t seq, int64_t position) {
  std::vector<int64_t> row = Row(seq, c.vocab_size, 2);
  const at::Tensor before = HfReferenceLogits(c, state, Ids({row}));
  row[position] = (row[position] + 17) % c.vocab_size;
  const at::Tensor after = HfReferenceLogits(c, state, Ids({row}));
  const double diff = MaxAbsDiff(before.select(1, seq - 1), after.select(1, seq - 1));
  EXPECT_TRUE(diff == 0.0 || diff > 1e-4) << "ambiguous dependence " << diff;
  return diff > 1e-4;
}

TEST(HfReferenceTest, MistralSlidingWindowCountsTheQueryItself) {
  HfConfig c = TinyMistralConfig();
  c.num_hidden_layers = 1;
  ASSERT_EQ(*c.sliding_window, 4);
  const StateDict state = MakeHfStateDict(c, 8);
  // One layer: position 9 sees keys 6..9 (9 - j < 4) and nothing earlier.
  EXPECT_TRUE(LastDependsOn(c, state, 10, 6));
  EXPECT_FALSE(LastDependsOn(c, state, 10, 5));
  EXPECT_FALSE(LastDependsOn(c, state, 10, 0));
  // Without the window everything is visible.
  HfConfig full = c;
  full.sliding_window.reset();
  EXPECT_TRUE(LastDependsOn(full, state, 10, 0));
}

TEST(HfReferenceTest, MistralWindowReachCompoundsOverLayers) {
  const HfConfig c = TinyMistralConfig();  // 2 layers, window 4: reach 2 * 3 back.
  const StateDict state = MakeHfStateDict(c, 9);
  EXPECT_TRUE(LastDependsOn(c, state, 10, 3));
  EXPECT_FALSE(LastDependsOn(c, state, 10, 2));
}

TEST(HfReferenceTest, WindowIsInertWithinItsLengthAndForOtherTypes) {
  const HfConfig c = TinyMistralConfig();
  const StateDict state = MakeHfStateDict(c, 10);
  HfConfig full = c;
  full.sliding_window.reset();
  const at::Tensor ids = Ids({Row(4, c.vocab_size, 5)});
  EXPECT_TRUE(at::equal(HfReferenceLogits(c, state, ids), HfReferenceLogits(full, state, ids)));
  // Qwen2's sliding_window is unused (use_sliding_window false).
  HfConfig qwen2 = TinyQwen2Config();
  const StateDict qwen2_state = MakeHfStateDict(qwen2, 10);
  const at::Tensor long_ids = Ids({Row(10, qwen2.vocab_size, 5)});
  const at::Tensor plain = HfReferenceLogits(qwen2, qwen2_state, long_ids);
  qwen2.sliding_window = 2;
  EXPECT_TRUE(at::equal(plain, HfReferenceLogits(qwen2, qwen2_state, long_ids)));
}

TEST(HfReferenceTest, TiedAndUntiedHeads) {
  const HfConfig tied = TinyQwen2Config();
  ASSERT_TRUE(tied.tie_word_embeddings);
  StateDict state = MakeHfStateDict(tied, 12);
  const at::Tensor ids = Ids({Row(6, tied.vocab_size, 7)});
  const at::Tensor tied_logits = HfReferenceLogits(tied, state, ids);

  // Untied with lm_head = the embedding matrix gives the same logits...
  HfConfig untied = tied;
  untied.tie_word_embeddings = false;
  StateDict untied_state = state;
  untied_state["lm_head.weight"] = state.at("model.embed_tokens.weight").clone();
  EXPECT_LT(MaxAbsDiff(HfReferenceLogits(untied, untied_state, ids), tied_logits), 1e-6);
  // ...and a different lm_head gives different ones.
  untied_state["lm_head.weight"] = untied_state["lm_head.weight"] * 2.0;
  EXPECT_GT(MaxAbsDiff(HfReferenceLogits(untied, untied_state, ids), tied_logits), 1e-2);
  // Untied without lm_head.weight is an error.
  EXPECT_THROW(HfReferenceLogits(untied, state, ids), c10::Error);
  // Tied ignores an lm_head.weight in the checkpoint, as transformers ties it.
  state["lm_head.weight"] = at::zeros({tied.vocab_size, tied.hidden_size});
  EXPECT_TRUE(at::equal(HfReferenceLogits(tied, state, ids), tied_logits));
}

TEST(HfReferenceTest, Llama3RopeScalingHasThreeRegimes) {
  const HfConfig scaled = TinyLlama3Config();
  HfConfig plain = scaled;
  plain.rope_scaling.reset();
  const Vec s = ToVec(HfRopeInverseFrequencies(scaled));
  const Vec p = ToVec(HfRopeInverseFrequencies(plain));
  ASSERT_EQ(s.size(), 8u);
  for (size_t i = 0; i < p.size(); ++i) {
    EXPECT_NEAR(p[i], std::pow(10000.0, -2.0 * static_cast<double>(i) / 16.0), 1e-6 * p[i]);
  }
  EXPECT_EQ(s[0], p[0]);         // wavelength 6.3 < 32 / 4: untouched
  EXPECT_LT(s[1], p[1] * 0.99);  // wavelength 19.9: interpolated
  EXPECT_GT(s[1], p[1] / 8.0 * 1.01);
  // smooth = (32 / 19.87 - 1) / 3; inv_freq * ((1 - smooth) / 8 + smooth).
  const double smooth = (32.0 / (2 * kPi / p[1]) - 1.0) / 3.0;
  EXPECT_NEAR(s[1], p[1] * ((1.0 - smooth) / 8.0 + smooth), 1e-6 * p[1]);
  for (size_t i = 2; i < s.size(); ++i) EXPECT_NEAR(s[i], p[i] / 8.0, 1e-7 * p[i]) << i;
}

TEST(HfReferenceTest, RopeScalingMattersOnlyAwayFromPositionZero) {
  const HfConfig scaled = TinyLlama3Config();
  const StateDict state = MakeHfStateDict(scaled, 13);
  HfConfig plain = scaled;
  plain.rope_scaling.reset();
  const at::Tensor ids = Ids({Row(8, scaled.vocab_size, 1)});
  const at::Tensor a = HfReferenceLogits(scaled, state, ids);
  const at::Tensor b = HfReferenceLogits(plain, state, ids);
  // Position 0 only sees itself at angle 0.
  EXPECT_LT(MaxAbsDiff(a.select(1, 0), b.select(1, 0)), 1e-6);
  for (int64_t t = 1; t < 8; ++t) {
    EXPECT_GT(MaxAbsDiff(a.select(1, t), b.select(1, t)), 1e-4) << t;
  }
  // With an original context so long that every wavelength is "high frequency",
  // llama3 scaling changes nothing.
  HfConfig untouched = scaled;
  untouched.rope_scaling->original_max_position_embeddings = 1 << 20;
  EXPECT_TRUE(at::equal(HfRopeInverseFrequencies(untouched), HfRopeInverseFrequencies(plain)));
  EXPECT_LT(MaxAbsDiff(HfReferenceLogits(untouched, state, ids), b), 1e-6);
}

TEST(HfReferenceTest, Qwen3QkNormMakesQueryScaleIrrelevant) {
  // q_norm normalizes each head of q_proj's output before RoPE, so scaling
  // q_proj.weight (no bias) leaves qwen3 unchanged; without q/k norms (llama)
  // the same change sharpens attention.
  for (const HfConfig& c : {TinyQwen3Config(), TinyLlama3Config()}) {
    StateDict state = MakeHfStateDict(c, 14);
    const at::Tensor ids = Ids({Row(8, c.vocab_size, 2)});
    const at::Tensor before = HfReferenceLogits(c, state, ids);
    state["model.layers.0.self_attn.q_proj.weight"] =
        state["model.layers.0.self_attn.q_proj.weight"] * 3.0;
    const double diff = MaxAbsDiff(HfReferenceLogits(c, state, ids), before);
    if (c.model_type == "qwen3") {
      EXPECT_LT(diff, 1e-4);
    } else {
      EXPECT_GT(diff, 1e-2);
    }
  }
}

TEST(HfReferenceTest, Qwen2BiasesAreUsed) {
  const HfConfig c = TinyQwen2Config();
  StateDict state = MakeHfStateDict(c, 15);
  const at::Tensor ids = Ids({Row(6, c.vocab_size, 3)});
  const at::Tensor before = HfReferenceLogits(c, state, ids);
  state["model.layers.1.self_attn.k_proj.bias"] =
      at::zeros_like(state["model.layers.1.self_attn.k_proj.bias"]);
  EXPECT_GT(MaxAbsDiff(HfReferenceLogits(c, state, ids), before), 1e-4);
}

TEST(HfReferenceTest, RejectsBadStateAndIds) {
  const HfConfig c = TinyQwen2Config();
  const StateDict good = MakeHfStateDict(c, 16);
  const at::Tensor ids = Ids({Row(4, c.vocab_size, 0)});
  StateDict missing = good;
  missing.erase("model.layers.1.mlp.up_proj.weight");
  EXPECT_THROW(HfReferenceLogits(c, missing, ids), c10::Error);
  StateDict extra = good;
  extra["model.layers.0.self_attn.o_proj.bias"] = at::zeros({c.hidden_size});  // qwen2 has none
  EXPECT_THROW(HfReferenceLogits(c, extra, ids), c10::Error);
  StateDict misshapen = good;
  misshapen["model.norm.weight"] = at::ones({c.hidden_size + 1});
  EXPECT_THROW(HfReferenceLogits(c, misshapen, ids), c10::Error);
  EXPECT_THROW(HfReferenceLogits(c, good, Ids({std::vector<int64_t>{0, c.vocab_size}})),
               c10::Error);
  EXPECT_THROW(HfReferenceLogits(c, good, ids.to(at::kInt)), c10::Error);
  HfConfig no_bias = c;
  no_bias.attention_bias = false;
  EXPECT_THROW(MakeHfStateDict(no_bias, 1), c10::Error);
  HfConfig unknown = c;
  unknown.model_type = "gpt2";
  EXPECT_THROW(ToConfigJson(unknown), c10::Error);
}

TEST(HfReferenceTest, ConfigJson) {
  const std::string llama = ToConfigJson(TinyLlama3Config());
  EXPECT_NE(llama.find("\"architectures\": [\"LlamaForCausalLM\"]"), std::string::npos);
  EXPECT_NE(llama.find("\"model_type\": \"llama\""), std::string::npos);
  EXPECT_NE(llama.find("\"torch_dtype\": \"float32\""), std::string::npos);
  EXPECT_NE(llama.find("\"rope_theta\": 10000.0"), std::string::npos);
  EXPECT_NE(llama.find("\"rms_norm_eps\": 1e-05"), std::string::npos);
  EXPECT_NE(llama.find("\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0, "
                       "\"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, "
                       "\"original_max_position_embeddings\": 32}"),
            std::string::npos);
  EXPECT_NE(llama.find("\"tie_word_embeddings\": false"), std::string::npos);
  EXPECT_EQ(llama.find("head_dim"), std::string::npos);
  EXPECT_EQ(llama.find("sliding_window"), std::string::npos);

  const std::string qwen2 = ToConfigJson(TinyQwen2Config());
  EXPECT_NE(qwen2.find("\"architectures\": [\"Qwen2ForCausalLM\"]"), std::string::npos);
  EXPECT_NE(qwen2.find("\"rope_scaling\": null"), std::string::npos);
  EXPECT_NE(qwen2.find("\"use_sliding_window\": false"), std::string::npos);
  EXPECT_NE(qwen2.find("\"attention_bias\": true"), std::string::npos);
  EXPECT_NE(qwen2.find("\"tie_word_embeddings\": true"), std::string::npos);
  EXPECT_NE(qwen2.find("\"rope_theta\": 1000000.0"), std::string::npos);

  EXPECT_NE(ToConfigJson(TinyQwen3Config()).find("\"head_dim\": 32,"), std::string::npos);
  HfConfig qwen3_default = TinyQwen3Config();
  qwen3_default.head_dim.reset();  // transformers' Qwen3 default would be 128
  EXPECT_NE(ToConfigJson(qwen3_default).find("\"head_dim\": 16,"), std::string::npos);

  const std::string mistral = ToConfigJson(TinyMistralConfig());
  EXPECT_NE(mistral.find("\"architectures\": [\"MistralForCausalLM\"]"), std::string::npos);
  EXPECT_NE(mistral.find("\"sliding_window\": 4,"), std::string::npos);
}

// ---------------------------------------------------------------------------
// The types added after llama/qwen/mistral.

TEST(HfReferenceTest, VariantsMatchElementaryLoops) {
  std::vector<HfConfig> variants;
  for (const std::string type : {"gemma", "olmo2", "granite"}) {
    HfConfig c = type == "gemma"   ? TinyGemmaConfig()
                 : type == "olmo2" ? TinyOlmo2Config()
                                   : TinyGraniteConfig();
    c.attention_bias = true;  // q/k/v and o_proj biases
    variants.push_back(c);
  }
  HfConfig starcoder2 = TinyStarcoder2Config();
  starcoder2.attention_bias = false;
  starcoder2.sliding_window.reset();
  variants.push_back(starcoder2);
  HfConfig gemma2 = TinyGemma2Config();
  gemma2.attn_logit_softcapping.reset();
  gemma2.final_logit_softcapping.reset();
  gemma2.hidden_act = "silu";
  variants.push_back(gemma2);
  HfConfig gemma3 = TinyGemma3Config();
  gemma3.sliding_window_pattern = 3;
  gemma3.linear_rope_factor.reset();
  gemma3.hidden_act = "gelu";
  variants.push_back(gemma3);
  HfConfig untied_gemma = TinyGemmaConfig();
  untied_gemma.tie_word_embeddings = false;
  variants.push_back(untied_gemma);
  HfConfig phi3_plain = TinyPhi3PlainConfig();
  phi3_plain.tie_word_embeddings = false;
  phi3_plain.sliding_window.reset();
  phi3_plain.hidden_act = "gelu_pytorch_tanh";
  variants.push_back(phi3_plain);
  HfConfig phi3_wide = TinyPhi3Config();  // rotary_dim 12, original 8, max 64; 12 tokens: long
  phi3_wide.partial_rotary_factor = 0.75;
  phi3_wide.longrope = HfConfig::LongRopeScaling{
      {1.0, 1.25, 1.5, 2.0, 3.0, 4.0}, {1.5, 2.5, 4.0, 6.0, 9.0, 16.0}, 8};
  phi3_wide.max_position_embeddings = 64;
  phi3_wide.sliding_window.reset();
  variants.push_back(phi3_wide);
  for (const HfConfig& c : variants) {
    const StateDict state = MakeHfStateDict(c, 17);
    const std::vector<int64_t> row = Row(12, c.vocab_size, 3);
    const at::Tensor logits = HfReferenceLogits(c, state, Ids({row}));
    ExpectMatchesElementary(c, state, row, logits[0], 2e-5, 2e-5);
  }
}

// With no layers a gemma model is E (x / sqrt(mean(x^2) + eps) * (1 + w)) with
// x = e * sqrt(hidden_size) (then the final soft-cap, if any).
TEST(HfReferenceTest, GemmaNormIsOnePlusWeightAndEmbeddingsAreScaled) {
  const std::vector<double> embed = {1.0, -1.0, 2.0, 0.0, 0.5, 0.5, -1.0, 3.0, 0.0, 1.0, 1.0, -2.0};
  const std::vector<double> w = {0.0, 0.5, -0.5, 1.0};
  for (const HfConfig& base : {TinyGemmaConfig(), TinyGemma2Config(), TinyGemma3Config()}) {
    HfConfig c = base;
    c.hidden_size = 4;
    c.num_attention_heads = 1;
    c.num_key_value_heads = 1;
    c.head_dim = 2;
    c.num_hidden_layers = 0;
    c.vocab_size = 3;
    c.rms_norm_eps = 0.5;  // against mean(x^2) = 6 it makes the embedding scale 2 visible
    StateDict state = MakeHfStateDict(c, 1);
    ASSERT_EQ(state.size(), 2u) << c.model_type;
    state["model.embed_tokens.weight"] = at::tensor(embed, at::kDouble).to(at::kFloat).view({3, 4});
    state["model.norm.weight"] = at::tensor(w, at::kDouble).to(at::kFloat);
    const std::vector<int64_t> tokens = {0, 2, 1};
    const Vec got = ToVec(HfReferenceLogits(c, state, Ids({tokens})));
    ASSERT_EQ(got.size(), 9u);
    // The same with embedding scale s and norm weight (one_plus ? 1 + w : w).
    auto expected = [&](double s, bool one_plus) {
      Vec out;
      for (int64_t token : tokens) {
        double mean_sq = 0.0;
        for (int e = 0; e < 4; ++e) mean_sq += std::pow(embed[token * 4 + e] * s, 2) / 4.0;
        Vec n(4);
        for (int e = 0; e < 4; ++e) {
          n[e] =
              embed[token * 4 + e] * s / std::sqrt(mean_sq + 0.5) * (one_plus ? 1.0 + w[e] : w[e]);
        }
        for (int v = 0; v < 3; ++v) {
          double logit = 0.0;
          for (int e = 0; e < 4; ++e) logit += n[e] * embed[v * 4 + e];
          if (c.final_logit_softcapping.has_value()) {
            logit = *c.final_logit_softcapping * std::tanh(logit / *c.final_logit_softcapping);
          }
          out.push_back(logit);
        }
      }
      return out;
    };
    const Vec want = expected(2.0, true);
    double unscaled_gap = 0.0, plain_weight_gap = 0.0;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_NEAR(got[i], want[i], 1e-5) << c.model_type << " " << i;
      unscaled_gap = std::max(unscaled_gap, std::abs(got[i] - expected(1.0, true)[i]));
      plain_weight_gap = std::max(plain_weight_gap, std::abs(got[i] - expected(2.0, false)[i]));
    }
    EXPECT_GT(unscaled_gap, 1e-2) << c.model_type;
    EXPECT_GT(plain_weight_gap, 1e-2) << c.model_type;
    if (c.model_type == "gemma") {
      // Token 0: x = (2, -2, 4, 0), mean(x^2) = 6, so (2, -3, 2, 0) / sqrt(6.5) against the rows.
      EXPECT_NEAR(got[0], 9.0 / std::sqrt(6.5), 1e-5);
      EXPECT_NEAR(got[1], -2.5 / std::sqrt(6.5), 1e-5);
      EXPECT_NEAR(got[2], -1.0 / std::sqrt(6.5), 1e-5);
    }
  }
}

// One gemma layer whose attention adds nothing (o_proj = 0) and whose MLP puts
// act(2.7) into the first feature: the logits follow hidden_act exactly.
TEST(HfReferenceTest, GemmaActivationFollowsHiddenAct) {
  HfConfig c = TinyGemmaConfig();
  c.hidden_size = 2;
  c.intermediate_size = 1;
  c.num_hidden_layers = 1;
  c.num_attention_heads = 1;
  c.num_key_value_heads = 1;
  c.head_dim = 2;
  c.vocab_size = 2;
  c.rms_norm_eps = 0.0;
  StateDict state = MakeHfStateDict(c, 2);
  state["model.embed_tokens.weight"] = at::tensor({1.0f, 1.0f, 1.0f, -1.0f}).view({2, 2});
  for (const char* norm : {"model.layers.0.input_layernorm.weight",
                           "model.layers.0.post_attention_layernorm.weight", "model.norm.weight"}) {
    state[norm] = at::zeros({2});  // 1 + w = 1
  }
  state["model.layers.0.self_attn.o_proj.weight"] = at::zeros({2, 2});
  state["model.layers.0.mlp.gate_proj.weight"] = at::tensor({2.0f, 0.7f}).view({1, 2});
  state["model.layers.0.mlp.up_proj.weight"] = at::tensor({0.5f, 0.5f}).view({1, 2});
  state["model.layers.0.mlp.down_proj.weight"] = at::tensor({1.0f, 0.0f}).view({2, 1});
  // h0 = (1, 1) * sqrt(2); its norm is (1, 1), so gate = 2.7 and up = 1; then
  // h1 = (sqrt(2) + act(2.7), sqrt(2)) and the logits are (z0 + z1, z0 - z1) for
  // z = h1 / rms(h1).
  auto expected = [](double act) {
    const double a = std::sqrt(2.0) + act, b = std::sqrt(2.0);
    const double rms = std::sqrt((a * a + b * b) / 2.0);
    return Vec{(a + b) / rms, (a - b) / rms};
  };
  const std::map<std::string, Vec> want = {{"gelu", expected(GeluErf(2.7))},
                                           {"gelu_pytorch_tanh", expected(GeluTanh(2.7))},
                                           {"silu", expected(Silu(2.7))}};
  // The formulas differ by far more than the tolerance below.
  EXPECT_GT(std::abs(want.at("gelu")[1] - want.at("gelu_pytorch_tanh")[1]), 2e-5);
  for (const auto& [act, logits] : want) {
    c.hidden_act = act;
    const Vec got = ToVec(HfReferenceLogits(c, state, Ids({{0}})));
    ASSERT_EQ(got.size(), 2u);
    EXPECT_NEAR(got[0], logits[0], 2e-6) << act;
    EXPECT_NEAR(got[1], logits[1], 2e-6) << act;
  }
}

TEST(HfReferenceTest, Gemma2SlidesOnEvenLayersOnly) {
  const HfConfig c = TinyGemma2Config();
  EXPECT_EQ(HfLayerSlidingWindow(c, 0), std::optional<int64_t>(4));
  EXPECT_EQ(HfLayerSlidingWindow(c, 1), std::nullopt);
  EXPECT_EQ(HfLayerSlidingWindow(c, 2), std::optional<int64_t>(4));
  EXPECT_THROW(HfLayerSlidingWindow(c, 3), c10::Error);
  // One layer (layer 0, sliding): position 11 sees keys 8..11 only.
  HfConfig one = c;
  one.num_hidden_layers = 1;
  const StateDict one_state = MakeHfStateDict(one, 21);
  EXPECT_TRUE(LastDependsOn(one, one_state, 12, 8));
  EXPECT_FALSE(LastDependsOn(one, one_state, 12, 7));
  EXPECT_FALSE(LastDependsOn(one, one_state, 12, 0));
  // Two layers: layer 1 is global, so position 11 reaches position 0 through
  // layer 0's outputs at positions 0..3 (two sliding layers would reach 5..11).
  HfConfig two = c;
  two.num_hidden_layers = 2;
  const StateDict two_state = MakeHfStateDict(two, 21);
  EXPECT_TRUE(LastDependsOn(two, two_state, 12, 0));
}

TEST(HfReferenceTest, Gemma2AttentionSoftcapBoundsScoresBeforeTheMask) {
  const HfConfig c = TinyGemma2Config();
  ASSERT_EQ(*c.attn_logit_softcapping, 5.0);
  const StateDict state = MakeHfStateDict(c, 22);
  const std::vector<int64_t> row = Row(12, c.vocab_size, 1);
  const at::Tensor ids = Ids({row});
  StateDict other_qk = state;
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".self_attn.";
    other_qk[p + "q_proj.weight"] = state.at(p + "q_proj.weight") * -3.0;
    other_qk[p + "k_proj.weight"] = state.at(p + "k_proj.weight").flip({0});
  }
  // A cap of 1e-6 squashes every score to within 1e-6 of 0: attention is then
  // uniform over the visible keys whatever q and k are...
  HfConfig tiny_cap = c;
  tiny_cap.attn_logit_softcapping = 1e-6;
  EXPECT_LT(MaxAbsDiff(HfReferenceLogits(tiny_cap, state, ids),
                       HfReferenceLogits(tiny_cap, other_qk, ids)),
            1e-4);
  // ...while with cap 5 q and k matter.
  EXPECT_GT(MaxAbsDiff(HfReferenceLogits(c, state, ids), HfReferenceLogits(c, other_qk, ids)),
            1e-2);
  // The mask comes after the cap: even with the tiny cap the model stays
  // causal and windowed (a mask capped with the scores would let -cap through).
  HfConfig tiny_one = tiny_cap;
  tiny_one.num_hidden_layers = 1;
  const StateDict one_state = MakeHfStateDict(tiny_one, 22);
  EXPECT_FALSE(LastDependsOn(tiny_one, one_state, 12, 7));
  EXPECT_TRUE(LastDependsOn(tiny_one, one_state, 12, 8));
  std::vector<int64_t> changed = row;
  changed[11] = (changed[11] + 1) % c.vocab_size;
  EXPECT_LT(MaxAbsDiff(HfReferenceLogits(tiny_cap, state, ids).slice(1, 0, 11),
                       HfReferenceLogits(tiny_cap, state, Ids({changed})).slice(1, 0, 11)),
            1e-6);
  // With q scaled up by 10 the scores are far beyond 5 and the cap clips them:
  // it then changes the logits a lot, exactly as the elementary loops say.
  StateDict big_q = state;
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string name = "model.layers." + std::to_string(i) + ".self_attn.q_proj.weight";
    big_q[name] = state.at(name) * 10.0;
  }
  HfConfig uncapped = c;
  uncapped.attn_logit_softcapping.reset();
  const at::Tensor capped_logits = HfReferenceLogits(c, big_q, ids);
  EXPECT_GT(MaxAbsDiff(capped_logits, HfReferenceLogits(uncapped, big_q, ids)), 5e-2);
  ExpectMatchesElementary(c, big_q, row, capped_logits[0], 2e-5, 2e-5);
}

TEST(HfReferenceTest, FinalLogitSoftcapClips) {
  for (const HfConfig& c : {TinyGemma2Config(), TinyGemma3Config()}) {
    ASSERT_EQ(*c.final_logit_softcapping, 3.0);
    const StateDict state = MakeHfStateDict(c, 23);
    const at::Tensor ids = Ids({Row(12, c.vocab_size, 2)});
    HfConfig uncapped = c;
    uncapped.final_logit_softcapping.reset();
    const at::Tensor raw = HfReferenceLogits(uncapped, state, ids).to(at::kDouble);
    const at::Tensor capped = HfReferenceLogits(c, state, ids);
    EXPECT_GT(raw.abs().max().item<double>(), 4.0) << c.model_type;  // the cap bites
    EXPECT_LE(capped.abs().max().item<double>(), 3.0) << c.model_type;
    EXPECT_LT(MaxAbsDiff(capped, at::tanh(raw / 3.0) * 3.0), 2e-6) << c.model_type;
  }
}

TEST(HfReferenceTest, Gemma3PatternAndPerLayerRope) {
  const HfConfig c = TinyGemma3Config();
  ASSERT_EQ(c.sliding_window_pattern, 2);
  const std::optional<int64_t> w4 = 4, full;
  EXPECT_EQ(HfLayerSlidingWindow(c, 0), w4);
  EXPECT_EQ(HfLayerSlidingWindow(c, 1), full);
  EXPECT_EQ(HfLayerSlidingWindow(c, 2), w4);
  EXPECT_EQ(HfLayerSlidingWindow(c, 3), full);
  HfConfig three = c;  // layer i global iff (i + 1) % 3 == 0: only layer 2
  three.sliding_window_pattern = 3;
  EXPECT_EQ(HfLayerSlidingWindow(three, 0), w4);
  EXPECT_EQ(HfLayerSlidingWindow(three, 1), w4);
  EXPECT_EQ(HfLayerSlidingWindow(three, 2), full);
  EXPECT_EQ(HfLayerSlidingWindow(three, 3), w4);
  HfConfig one = c;
  one.sliding_window_pattern = 1;
  for (int64_t i = 0; i < 4; ++i) EXPECT_EQ(HfLayerSlidingWindow(one, i), full) << i;

  // Sliding layers: 1 / 1e4^(2i / 32); global layers: 1 / 1e6^(2i / 32) / 2.
  const Vec local = ToVec(HfLayerRopeInverseFrequencies(c, 0));
  const Vec global = ToVec(HfLayerRopeInverseFrequencies(c, 1));
  ASSERT_EQ(local.size(), 16u);
  ASSERT_EQ(global.size(), 16u);
  for (size_t i = 0; i < local.size(); ++i) {
    const double exponent = -2.0 * static_cast<double>(i) / 32.0;
    EXPECT_NEAR(local[i], std::pow(1e4, exponent), 1e-6 * local[i]) << i;
    EXPECT_NEAR(global[i], std::pow(1e6, exponent) / 2.0, 1e-6 * global[i]) << i;
  }
  EXPECT_TRUE(at::equal(HfLayerRopeInverseFrequencies(c, 2), HfLayerRopeInverseFrequencies(c, 0)));
  EXPECT_TRUE(at::equal(HfLayerRopeInverseFrequencies(c, 3), HfRopeInverseFrequencies(c)));
  EXPECT_THROW(HfLayerRopeInverseFrequencies(c, 4), c10::Error);
  // Other types: every layer uses the global frequencies.
  const HfConfig llama = TinyLlama3Config();
  EXPECT_TRUE(at::equal(HfLayerRopeInverseFrequencies(llama, 1), HfRopeInverseFrequencies(llama)));
}

TEST(HfReferenceTest, Gemma3SlidingLayersUseTheLocalBaseOnly) {
  HfConfig sliding = TinyGemma3Config();
  sliding.num_hidden_layers = 1;  // layer 0: sliding
  const StateDict state = MakeHfStateDict(sliding, 24);
  const at::Tensor ids = Ids({Row(8, sliding.vocab_size, 4)});
  const at::Tensor base = HfReferenceLogits(sliding, state, ids);
  HfConfig other_global = sliding;
  other_global.rope_theta = 5000.0;
  other_global.linear_rope_factor = 4.0;
  EXPECT_TRUE(at::equal(HfReferenceLogits(other_global, state, ids), base));
  HfConfig other_local = sliding;
  other_local.rope_local_base_freq = 500.0;
  EXPECT_GT(MaxAbsDiff(HfReferenceLogits(other_local, state, ids), base), 1e-4);
  EXPECT_FALSE(LastDependsOn(sliding, state, 12, 7));
  EXPECT_TRUE(LastDependsOn(sliding, state, 12, 8));

  // With pattern 1 layer 0 is global: the reverse.
  HfConfig global = sliding;
  global.sliding_window_pattern = 1;
  const at::Tensor global_base = HfReferenceLogits(global, state, ids);
  HfConfig global_other_local = global;
  global_other_local.rope_local_base_freq = 500.0;
  EXPECT_TRUE(at::equal(HfReferenceLogits(global_other_local, state, ids), global_base));
  HfConfig global_other_factor = global;
  global_other_factor.linear_rope_factor = 4.0;
  EXPECT_GT(MaxAbsDiff(HfReferenceLogits(global_other_factor, state, ids), global_base), 1e-4);
  EXPECT_TRUE(LastDependsOn(global, state, 12, 0));
}

TEST(HfReferenceTest, Gemma3IgnoresAttnLogitSoftcapping) {
  // transformers' Gemma3Attention does not pass attn_logit_softcapping to the
  // attention function; Gemma2Attention does.
  const HfConfig c = TinyGemma3Config();
  ASSERT_FALSE(c.attn_logit_softcapping.has_value());
  const StateDict state = MakeHfStateDict(c, 25);
  const at::Tensor ids = Ids({Row(10, c.vocab_size, 5)});
  HfConfig capped = c;
  capped.attn_logit_softcapping = 1e-6;
  EXPECT_TRUE(at::equal(HfReferenceLogits(capped, state, ids), HfReferenceLogits(c, state, ids)));
  EXPECT_NE(ToConfigJson(capped).find("\"attn_logit_softcapping\": 1e-06,"), std::string::npos);
  const HfConfig gemma2 = TinyGemma2Config();
  const StateDict gemma2_state = MakeHfStateDict(gemma2, 25);
  HfConfig gemma2_capped = gemma2;
  gemma2_capped.attn_logit_softcapping = 1e-6;
  EXPECT_GT(MaxAbsDiff(HfReferenceLogits(gemma2_capped, gemma2_state, ids),
                       HfReferenceLogits(gemma2, gemma2_state, ids)),
            1e-3);
}

TEST(HfReferenceTest, Olmo2QkNormSpansTheWholeProjection) {
  // Scaling the q_proj rows of one head changes OLMo 2's norm (over all heads
  // together) for every head, but cancels in a per-head norm (Qwen3, Gemma 3).
  // Scaling all rows cancels in both.
  for (const HfConfig& c : {TinyOlmo2Config(), TinyQwen3Config(), TinyGemma3Config()}) {
    const StateDict state = MakeHfStateDict(c, 26);
    const at::Tensor ids = Ids({Row(8, c.vocab_size, 6)});
    const at::Tensor before = HfReferenceLogits(c, state, ids);
    const std::string q = "model.layers.0.self_attn.q_proj.weight";
    const std::string k = "model.layers.1.self_attn.k_proj.weight";
    StateDict one_head = state;
    one_head[q] = state.at(q).clone();
    one_head[q].slice(0, 0, HfHeadDim(c)).mul_(3.0);
    StateDict all = state;
    all[q] = state.at(q) * 3.0;
    all[k] = state.at(k) * 0.25;
    EXPECT_LT(MaxAbsDiff(HfReferenceLogits(c, all, ids), before), 1e-4) << c.model_type;
    const double one_head_diff = MaxAbsDiff(HfReferenceLogits(c, one_head, ids), before);
    if (c.model_type == "olmo2") {
      EXPECT_GT(one_head_diff, 1e-3);
    } else {
      EXPECT_LT(one_head_diff, 1e-4) << c.model_type;
    }
  }
}

TEST(HfReferenceTest, GraniteLogitsScalingDividesExactly) {
  const HfConfig c = TinyGraniteConfig();
  ASSERT_EQ(c.logits_scaling, 2.0);
  const StateDict state = MakeHfStateDict(c, 27);
  const at::Tensor ids = Ids({Row(9, c.vocab_size, 7)});
  HfConfig unscaled = c;
  unscaled.logits_scaling = 1.0;
  EXPECT_TRUE(
      at::equal(HfReferenceLogits(c, state, ids) * 2.0, HfReferenceLogits(unscaled, state, ids)));
}

TEST(HfReferenceTest, GraniteWithNeutralMultipliersIsLlama) {
  HfConfig granite = TinyGraniteConfig();
  granite.embedding_multiplier = 1.0;
  granite.residual_multiplier = 1.0;
  granite.logits_scaling = 1.0;
  granite.attention_multiplier = 0.25;  // 1 / sqrt(head_dim 16)
  HfConfig llama = granite;
  llama.model_type = "llama";
  llama.attention_multiplier = 0.0;
  const StateDict state = MakeHfStateDict(granite, 28);
  EXPECT_EQ(Keys(state), Keys(MakeHfStateDict(llama, 28)));
  const at::Tensor ids = Ids({Row(9, granite.vocab_size, 8)});
  const at::Tensor llama_logits = HfReferenceLogits(llama, state, ids);
  EXPECT_LT(MaxAbsDiff(HfReferenceLogits(granite, state, ids), llama_logits), 1e-6);
  // Each multiplier moves the logits away from Llama's.
  std::vector<HfConfig> moved(4, granite);
  moved[0].embedding_multiplier = 12.0;
  moved[1].residual_multiplier = 0.22;
  moved[2].attention_multiplier = 0.125;
  moved[3].logits_scaling = 2.0;
  for (const HfConfig& m : moved) {
    EXPECT_GT(MaxAbsDiff(HfReferenceLogits(m, state, ids), llama_logits), 1e-3);
  }
}

TEST(HfReferenceTest, GraniteZeroResidualMultiplierLeavesScaledEmbeddings) {
  // residual_multiplier 0 drops every layer's contribution, leaving
  // E (w * x / sqrt(mean(x^2) + eps)) / logits_scaling for x = 12 e.
  HfConfig c = TinyGraniteConfig();
  c.residual_multiplier = 0.0;
  c.rms_norm_eps = 4.0;  // against mean(x^2) ~ 36 it makes the multiplier visible
  const StateDict state = MakeHfStateDict(c, 29);
  const std::vector<int64_t> tokens = Row(5, c.vocab_size, 9);
  const Vec got = ToVec(HfReferenceLogits(c, state, Ids({tokens})));
  const Vec embed = ToVec(state.at("model.embed_tokens.weight"));
  const Vec w = ToVec(state.at("model.norm.weight"));
  auto expected = [&](double multiplier) {
    Vec out;
    for (int64_t token : tokens) {
      double mean_sq = 0.0;
      for (int e = 0; e < 64; ++e) mean_sq += std::pow(embed[token * 64 + e] * multiplier, 2) / 64;
      for (int v = 0; v < 128; ++v) {
        double logit = 0.0;
        for (int e = 0; e < 64; ++e) {
          logit += w[e] * embed[token * 64 + e] * multiplier / std::sqrt(mean_sq + 4.0) *
                   embed[v * 64 + e];
        }
        out.push_back(logit / 2.0);
      }
    }
    return out;
  };
  const Vec want = expected(12.0), unscaled = expected(1.0);
  ASSERT_EQ(got.size(), want.size());
  double gap = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_NEAR(got[i], want[i], 1e-5) << i;
    gap = std::max(gap, std::abs(want[i] - unscaled[i]));
  }
  EXPECT_GT(gap, 1e-2);
}

// With no layers a starcoder2 model is E LayerNorm(e): (e - mean) /
// sqrt(var + eps) * w + b.
TEST(HfReferenceTest, Starcoder2LayerNormWithBias) {
  HfConfig c = TinyStarcoder2Config();
  c.hidden_size = 4;
  c.num_attention_heads = 1;
  c.num_key_value_heads = 1;
  c.num_hidden_layers = 0;
  c.vocab_size = 3;
  StateDict state = MakeHfStateDict(c, 3);
  ASSERT_EQ(Keys(state), (std::set<std::string>{"model.embed_tokens.weight", "model.norm.weight",
                                                "model.norm.bias"}));
  const std::vector<double> embed = {1, 2, 3, 6, 0, -1, 1, 0, 2, 2, -2, -2};
  const std::vector<double> w = {1.0, 0.5, 2.0, -1.0}, b = {0.1, -0.2, 0.3, 0.0};
  state["model.embed_tokens.weight"] = at::tensor(embed, at::kDouble).to(at::kFloat).view({3, 4});
  state["model.norm.weight"] = at::tensor(w, at::kDouble).to(at::kFloat);
  state["model.norm.bias"] = at::tensor(b, at::kDouble).to(at::kFloat);
  const Vec got = ToVec(HfReferenceLogits(c, state, Ids({{0, 1, 2}})));
  ASSERT_EQ(got.size(), 9u);
  for (int token = 0; token < 3; ++token) {
    double mean = 0.0, var = 0.0;
    for (int e = 0; e < 4; ++e) mean += embed[token * 4 + e] / 4.0;
    for (int e = 0; e < 4; ++e) var += std::pow(embed[token * 4 + e] - mean, 2) / 4.0;
    for (int v = 0; v < 3; ++v) {
      double logit = 0.0;
      for (int e = 0; e < 4; ++e) {
        const double n = (embed[token * 4 + e] - mean) / std::sqrt(var + 1e-5) * w[e] + b[e];
        logit += n * embed[v * 4 + e];
      }
      EXPECT_NEAR(got[token * 3 + v], logit, 1e-5) << token << " " << v;
    }
  }
  // Token 0: mean 3, variance 3.5, normed (-2, -0.5, 0, -3) / sqrt(3.5) + b.
  const double s = std::sqrt(3.5 + 1e-5);
  EXPECT_NEAR(got[0], (-2 / s + 0.1) * 1 + (-0.5 / s - 0.2) * 2 + 0.3 * 3 + (-3 / s) * 6, 1e-5);
}

TEST(HfReferenceTest, Starcoder2SlidesOnEveryLayerAndUsesItsBiases) {
  const HfConfig c = TinyStarcoder2Config();
  EXPECT_EQ(HfLayerSlidingWindow(c, 0), std::optional<int64_t>(4));
  EXPECT_EQ(HfLayerSlidingWindow(c, 1), std::optional<int64_t>(4));
  HfConfig one = c;
  one.num_hidden_layers = 1;
  const StateDict one_state = MakeHfStateDict(one, 30);
  EXPECT_TRUE(LastDependsOn(one, one_state, 12, 8));
  EXPECT_FALSE(LastDependsOn(one, one_state, 12, 7));
  const StateDict state = MakeHfStateDict(c, 30);  // two sliding layers: reach 2 * 3 back
  EXPECT_TRUE(LastDependsOn(c, state, 12, 5));
  EXPECT_FALSE(LastDependsOn(c, state, 12, 4));
  HfConfig no_window = c;
  no_window.sliding_window.reset();
  EXPECT_EQ(HfLayerSlidingWindow(no_window, 1), std::nullopt);
  EXPECT_TRUE(LastDependsOn(no_window, state, 12, 0));

  const at::Tensor ids = Ids({Row(8, c.vocab_size, 3)});
  const at::Tensor before = HfReferenceLogits(c, state, ids);
  for (const char* name :
       {"model.layers.0.mlp.c_fc.bias", "model.layers.0.mlp.c_proj.bias",
        "model.layers.1.self_attn.o_proj.bias", "model.layers.1.self_attn.v_proj.bias",
        "model.layers.0.input_layernorm.bias", "model.layers.1.post_attention_layernorm.bias",
        "model.norm.bias"}) {
    StateDict changed = state;
    changed[name] = at::zeros_like(state.at(name));
    EXPECT_GT(MaxAbsDiff(HfReferenceLogits(c, changed, ids), before), 1e-4) << name;
  }
}

TEST(HfReferenceTest, RejectsBadNewConfigs) {
  for (const HfConfig& c : TinyConfigs()) EXPECT_NO_THROW(ToConfigJson(c)) << c.model_type;
  std::vector<HfConfig> bad;
  auto add = [&bad](HfConfig c, auto change) {
    change(c);
    bad.push_back(c);
  };
  add(TinyGemma2Config(), [](HfConfig& c) { c.query_pre_attn_scalar.reset(); });
  add(TinyGemma2Config(), [](HfConfig& c) { c.sliding_window.reset(); });
  add(TinyGemma2Config(), [](HfConfig& c) { c.attn_logit_softcapping = 0.0; });
  add(TinyGemma2Config(), [](HfConfig& c) { c.sliding_window_pattern = 2; });
  add(TinyGemma3Config(), [](HfConfig& c) { c.sliding_window_pattern = 0; });
  add(TinyGemma3Config(), [](HfConfig& c) { c.rope_local_base_freq = 0.0; });
  add(TinyGemma3Config(), [](HfConfig& c) { c.rope_scaling = HfConfig::Llama3Scaling(); });
  add(TinyGemmaConfig(), [](HfConfig& c) { c.rope_scaling = HfConfig::Llama3Scaling(); });
  add(TinyGemmaConfig(), [](HfConfig& c) { c.num_attention_heads = 3, c.num_key_value_heads = 1; });
  add(TinyGemmaConfig(), [](HfConfig& c) { c.query_pre_attn_scalar = 32.0; });
  add(TinyGemmaConfig(), [](HfConfig& c) { c.hidden_act = "relu"; });
  add(TinyLlama3Config(), [](HfConfig& c) { c.final_logit_softcapping = 3.0; });
  add(TinyLlama3Config(), [](HfConfig& c) { c.linear_rope_factor = 2.0; });
  add(TinyLlama3Config(), [](HfConfig& c) { c.rope_local_base_freq = 5000.0; });
  add(TinyLlama3Config(), [](HfConfig& c) { c.embedding_multiplier = 2.0; });
  add(TinyLlama3Config(), [](HfConfig& c) { c.attention_multiplier = 0.25; });
  add(TinyGraniteConfig(), [](HfConfig& c) { c.attention_multiplier = 0.0; });
  add(TinyGraniteConfig(), [](HfConfig& c) { c.logits_scaling = 0.0; });
  add(TinyOlmo2Config(), [](HfConfig& c) { c.head_dim = 32; });
  add(TinyStarcoder2Config(), [](HfConfig& c) { c.head_dim = 32; });
  for (const HfConfig& c : bad) {
    EXPECT_THROW(ToConfigJson(c), c10::Error) << c.model_type;
    EXPECT_THROW(MakeHfStateDict(c, 1), c10::Error) << c.model_type;
  }
  // The same head_dim as hidden / heads is fine.
  HfConfig olmo2 = TinyOlmo2Config();
  olmo2.head_dim = 16;
  EXPECT_NO_THROW(ToConfigJson(olmo2));
}

bool Has(const std::string& json, const std::string& text) {
  return json.find(text) != std::string::npos;
}

TEST(HfReferenceTest, ConfigJsonNewTypes) {
  const std::string gemma = ToConfigJson(TinyGemmaConfig());
  EXPECT_TRUE(Has(gemma, "\"architectures\": [\"GemmaForCausalLM\"],"));
  EXPECT_TRUE(Has(gemma, "\"model_type\": \"gemma\","));
  EXPECT_TRUE(Has(gemma, "\"hidden_act\": \"gelu\","));
  EXPECT_TRUE(Has(gemma, "\"hidden_activation\": \"gelu\","));
  EXPECT_TRUE(Has(gemma, "\"head_dim\": 32,"));
  EXPECT_TRUE(Has(gemma, "\"rms_norm_eps\": 1e-06,"));
  EXPECT_TRUE(Has(gemma, "\"attention_bias\": false,"));
  EXPECT_TRUE(Has(gemma, "\"tie_word_embeddings\": true"));
  EXPECT_FALSE(Has(gemma, "sliding_window"));
  EXPECT_FALSE(Has(gemma, "softcapping"));
  EXPECT_FALSE(Has(gemma, "query_pre_attn_scalar"));

  const std::string gemma2 = ToConfigJson(TinyGemma2Config());
  EXPECT_TRUE(Has(gemma2, "\"architectures\": [\"Gemma2ForCausalLM\"],"));
  EXPECT_TRUE(Has(gemma2, "\"model_type\": \"gemma2\","));
  EXPECT_TRUE(Has(gemma2, "\"hidden_activation\": \"gelu_pytorch_tanh\","));
  EXPECT_TRUE(Has(gemma2, "\"query_pre_attn_scalar\": 24,"));
  EXPECT_TRUE(Has(gemma2, "\"attn_logit_softcapping\": 5.0,"));
  EXPECT_TRUE(Has(gemma2, "\"final_logit_softcapping\": 3.0,"));
  EXPECT_TRUE(Has(gemma2, "\"sliding_window\": 4,"));
  EXPECT_TRUE(Has(gemma2,
                  "\"layer_types\": [\"sliding_attention\", \"full_attention\", "
                  "\"sliding_attention\"],"));
  EXPECT_TRUE(Has(gemma2, "\"rope_scaling\": null,"));
  EXPECT_FALSE(Has(gemma2, "sliding_window_pattern"));
  HfConfig gemma2_uncapped = TinyGemma2Config();
  gemma2_uncapped.attn_logit_softcapping.reset();
  gemma2_uncapped.final_logit_softcapping.reset();
  const std::string uncapped = ToConfigJson(gemma2_uncapped);
  EXPECT_TRUE(Has(uncapped, "\"attn_logit_softcapping\": null,"));
  EXPECT_TRUE(Has(uncapped, "\"final_logit_softcapping\": null,"));

  const std::string gemma3 = ToConfigJson(TinyGemma3Config());
  EXPECT_TRUE(Has(gemma3, "\"architectures\": [\"Gemma3ForCausalLM\"],"));
  EXPECT_TRUE(Has(gemma3, "\"model_type\": \"gemma3_text\","));
  EXPECT_TRUE(Has(gemma3, "\"sliding_window_pattern\": 2,"));
  EXPECT_TRUE(Has(gemma3,
                  "\"layer_types\": [\"sliding_attention\", \"full_attention\", "
                  "\"sliding_attention\", \"full_attention\"],"));
  EXPECT_TRUE(Has(gemma3, "\"rope_theta\": 1000000.0,"));
  EXPECT_TRUE(Has(gemma3, "\"rope_local_base_freq\": 10000.0,"));
  EXPECT_TRUE(Has(gemma3, "\"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 2.0},"));
  EXPECT_TRUE(Has(gemma3, "\"attn_logit_softcapping\": null,"));
  EXPECT_TRUE(Has(gemma3, "\"final_logit_softcapping\": 3.0,"));
  EXPECT_TRUE(Has(gemma3, "\"query_pre_attn_scalar\": 24,"));
  EXPECT_TRUE(Has(gemma3, "\"sliding_window\": 4,"));
  EXPECT_TRUE(Has(gemma3, "\"head_dim\": 32,"));
  HfConfig gemma3_plain = TinyGemma3Config();
  gemma3_plain.linear_rope_factor.reset();
  gemma3_plain.query_pre_attn_scalar = 24.5;
  const std::string plain = ToConfigJson(gemma3_plain);
  EXPECT_TRUE(Has(plain, "\"rope_scaling\": null,"));
  EXPECT_TRUE(Has(plain, "\"query_pre_attn_scalar\": 24.5,"));

  const std::string olmo2 = ToConfigJson(TinyOlmo2Config());
  EXPECT_TRUE(Has(olmo2, "\"architectures\": [\"Olmo2ForCausalLM\"],"));
  EXPECT_TRUE(Has(olmo2, "\"model_type\": \"olmo2\","));
  EXPECT_TRUE(Has(olmo2, "\"hidden_act\": \"silu\","));
  EXPECT_TRUE(Has(olmo2, "\"rms_norm_eps\": 1e-06,"));
  EXPECT_TRUE(Has(olmo2, "\"rope_theta\": 500000.0,"));
  EXPECT_TRUE(Has(olmo2, "\"tie_word_embeddings\": false"));
  EXPECT_FALSE(Has(olmo2, "head_dim"));
  EXPECT_FALSE(Has(olmo2, "sliding_window"));
  EXPECT_FALSE(Has(olmo2, "hidden_activation"));

  const std::string granite = ToConfigJson(TinyGraniteConfig());
  EXPECT_TRUE(Has(granite, "\"architectures\": [\"GraniteForCausalLM\"],"));
  EXPECT_TRUE(Has(granite, "\"model_type\": \"granite\","));
  EXPECT_TRUE(Has(granite, "\"embedding_multiplier\": 12.0,"));
  EXPECT_TRUE(Has(granite, "\"residual_multiplier\": 0.22,"));
  EXPECT_TRUE(Has(granite, "\"attention_multiplier\": 0.125,"));
  EXPECT_TRUE(Has(granite, "\"logits_scaling\": 2.0,"));
  EXPECT_TRUE(Has(granite, "\"mlp_bias\": false,"));
  EXPECT_TRUE(Has(granite, "\"attention_bias\": false,"));
  EXPECT_FALSE(Has(granite, "sliding_window"));
  EXPECT_FALSE(Has(ToConfigJson(TinyLlama3Config()), "multiplier"));

  const std::string starcoder2 = ToConfigJson(TinyStarcoder2Config());
  EXPECT_TRUE(Has(starcoder2, "\"architectures\": [\"Starcoder2ForCausalLM\"],"));
  EXPECT_TRUE(Has(starcoder2, "\"model_type\": \"starcoder2\","));
  EXPECT_TRUE(Has(starcoder2, "\"hidden_act\": \"gelu_pytorch_tanh\","));
  EXPECT_TRUE(Has(starcoder2, "\"norm_epsilon\": 1e-05,"));
  EXPECT_TRUE(Has(starcoder2, "\"use_bias\": true,"));
  EXPECT_TRUE(Has(starcoder2, "\"sliding_window\": 4,"));
  EXPECT_TRUE(Has(starcoder2, "\"residual_dropout\": 0.0,"));
  EXPECT_TRUE(Has(starcoder2, "\"embedding_dropout\": 0.0,"));
  EXPECT_TRUE(Has(starcoder2, "\"tie_word_embeddings\": true"));
  EXPECT_FALSE(Has(starcoder2, "rms_norm_eps"));
  EXPECT_FALSE(Has(starcoder2, "attention_bias"));
  HfConfig starcoder2_plain = TinyStarcoder2Config();
  starcoder2_plain.sliding_window.reset();
  starcoder2_plain.attention_bias = false;
  const std::string sc_plain = ToConfigJson(starcoder2_plain);
  EXPECT_TRUE(Has(sc_plain, "\"sliding_window\": null,"));
  EXPECT_TRUE(Has(sc_plain, "\"use_bias\": false,"));

  // hidden_act is written for the older types too.
  HfConfig llama = TinyLlama3Config();
  llama.hidden_act = "gelu";
  EXPECT_TRUE(Has(ToConfigJson(llama), "\"hidden_act\": \"gelu\","));
}

// ---------------------------------------------------------------------------
// Phi-3.

// The logits [1, seq, vocab] of one row of tokens.
at::Tensor LogitsOf(const HfConfig& c, const StateDict& state, const std::vector<int64_t>& row) {
  return HfReferenceLogits(c, state, Ids({row}));
}

// `state` of a phi3 model with its fused tensors split into mistral's
// q/k/v_proj (qkv_proj rows: q, then k, then v) and gate/up_proj (gate_up_proj
// rows: gate, then up).
StateDict SplitPhi3(const HfConfig& c, const StateDict& state) {
  const int64_t q = c.num_attention_heads * HfHeadDim(c);
  const int64_t kv = c.num_key_value_heads * HfHeadDim(c);
  StateDict split;
  for (const auto& [name, tensor] : state) {
    const size_t qkv = name.find("self_attn.qkv_proj.weight");
    const size_t gate_up = name.find("mlp.gate_up_proj.weight");
    if (qkv != std::string::npos) {
      const std::string p = name.substr(0, qkv) + "self_attn.";
      split[p + "q_proj.weight"] = tensor.slice(0, 0, q).clone();
      split[p + "k_proj.weight"] = tensor.slice(0, q, q + kv).clone();
      split[p + "v_proj.weight"] = tensor.slice(0, q + kv).clone();
    } else if (gate_up != std::string::npos) {
      const std::string p = name.substr(0, gate_up) + "mlp.";
      split[p + "gate_proj.weight"] = tensor.slice(0, 0, c.intermediate_size).clone();
      split[p + "up_proj.weight"] = tensor.slice(0, c.intermediate_size).clone();
    } else {
      split[name] = tensor;
    }
  }
  return split;
}

TEST(HfReferenceTest, Phi3TensorNamesShapesAndScales) {
  using Shape = std::vector<int64_t>;
  const StateDict phi3 = MakeHfStateDict(TinyPhi3Config(), 1);
  EXPECT_EQ(phi3.size(), 3u + 2u * 6u);  // embed, norm, lm_head; per layer 2 norms, 4 linears
  const std::string p = "model.layers.1.";
  EXPECT_EQ(phi3.at(p + "self_attn.qkv_proj.weight").sizes(), (Shape{(4 + 2 * 2) * 16, 64}));
  EXPECT_EQ(phi3.at(p + "self_attn.o_proj.weight").sizes(), (Shape{64, 4 * 16}));
  EXPECT_EQ(phi3.at(p + "mlp.gate_up_proj.weight").sizes(), (Shape{2 * 96, 64}));
  EXPECT_EQ(phi3.at(p + "mlp.down_proj.weight").sizes(), (Shape{64, 96}));
  EXPECT_EQ(phi3.at("lm_head.weight").sizes(), (Shape{128, 64}));
  for (const char* absent : {"self_attn.q_proj.weight", "self_attn.k_proj.weight",
                             "mlp.gate_proj.weight", "mlp.up_proj.weight"}) {
    EXPECT_EQ(phi3.count(p + absent), 0u) << absent;
  }
  // The fused tensors are drawn with fan_in hidden_size: std 1 / sqrt(64).
  for (const char* fused : {"self_attn.qkv_proj.weight", "mlp.gate_up_proj.weight"}) {
    EXPECT_NEAR(phi3.at(p + fused).std().item<double>(), 0.125, 0.01) << fused;
  }
  const StateDict plain = MakeHfStateDict(TinyPhi3PlainConfig(), 1);
  EXPECT_EQ(plain.size(), 2u + 2u * 6u);  // tied: no lm_head
  EXPECT_EQ(plain.count("lm_head.weight"), 0u);
}

// Phi-3 without longrope and with full rotary is Mistral with fused tensors:
// this pins the row order of qkv_proj (q, k, v) and gate_up_proj (gate, up).
TEST(HfReferenceTest, Phi3PlainIsMistralWithFusedTensors) {
  const HfConfig phi3 = TinyPhi3PlainConfig();
  HfConfig mistral = phi3;
  mistral.model_type = "mistral";
  const StateDict state = MakeHfStateDict(phi3, 31);
  const StateDict split = SplitPhi3(phi3, state);
  EXPECT_EQ(Keys(split), Keys(MakeHfStateDict(mistral, 31)));
  const at::Tensor ids = Ids({Row(10, phi3.vocab_size, 1), Row(10, phi3.vocab_size, 3)});
  const at::Tensor logits = HfReferenceLogits(phi3, state, ids);
  // Fused and split matmuls round differently: float32 noise only.
  EXPECT_LT(MaxAbsDiff(logits, HfReferenceLogits(mistral, split, ids)), 1e-4);

  // Zeroing the k rows [64, 96) of qkv_proj is zeroing mistral's k_proj.
  const std::string qkv = "model.layers.0.self_attn.qkv_proj.weight";
  StateDict zero_k = state, zero_k_split = split;
  zero_k[qkv] = state.at(qkv).clone();
  zero_k[qkv].slice(0, 64, 96).zero_();
  zero_k_split["model.layers.0.self_attn.k_proj.weight"] = at::zeros({32, 64});
  const at::Tensor zero_k_logits = HfReferenceLogits(phi3, zero_k, ids);
  EXPECT_GT(MaxAbsDiff(zero_k_logits, logits), 1e-3);
  EXPECT_LT(MaxAbsDiff(zero_k_logits, HfReferenceLogits(mistral, zero_k_split, ids)), 1e-4);

  // Swapping the k and v blocks, or the gate and up halves, changes the logits.
  StateDict kv_swapped = state;
  const at::Tensor w = state.at(qkv);
  kv_swapped[qkv] = at::cat({w.slice(0, 0, 64), w.slice(0, 96), w.slice(0, 64, 96)});
  EXPECT_GT(MaxAbsDiff(HfReferenceLogits(phi3, kv_swapped, ids), logits), 1e-3);
  const std::string gate_up = "model.layers.1.mlp.gate_up_proj.weight";
  StateDict up_gate = state;
  up_gate[gate_up] = at::cat({state.at(gate_up).slice(0, 96), state.at(gate_up).slice(0, 0, 96)});
  EXPECT_GT(MaxAbsDiff(HfReferenceLogits(phi3, up_gate, ids), logits), 1e-3);
  // The state dicts are not interchangeable.
  EXPECT_THROW(HfReferenceLogits(mistral, state, ids), c10::Error);
  EXPECT_THROW(HfReferenceLogits(phi3, split, ids), c10::Error);
}

TEST(HfReferenceTest, Phi3RotaryDimAndInverseFrequencies) {
  const HfConfig c = TinyPhi3Config(), plain = TinyPhi3PlainConfig();
  EXPECT_EQ(HfRotaryDim(c), 8);
  EXPECT_EQ(HfRotaryDim(plain), 16);
  EXPECT_EQ(HfRotaryDim(TinyQwen3Config()), 32);
  HfConfig three_quarters = plain;
  three_quarters.partial_rotary_factor = 0.75;
  EXPECT_EQ(HfRotaryDim(three_quarters), 12);
  HfConfig truncated = plain;
  truncated.partial_rotary_factor = 0.3;  // int(4.8)
  EXPECT_EQ(HfRotaryDim(truncated), 4);

  // 1 / (ext[i] * 10000^(2i / 8)) = 1 / (ext[i] * 10^i): the exponent is over
  // rotary_dim 8, not head_dim 16.
  const Vec want_short = {1.0, 1.0 / 15.0, 1.0 / 200.0, 1.0 / 4000.0};
  const Vec want_long = {1.0 / 2.0, 1.0 / 30.0, 1.0 / 500.0, 1.0 / 8000.0};
  const Vec short_freq = ToVec(HfRopeInverseFrequencies(c));
  const Vec long_freq = ToVec(HfPhi3RopeInverseFrequencies(c, 7));
  ASSERT_EQ(short_freq.size(), 4u);
  ASSERT_EQ(long_freq.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(short_freq[i], want_short[i], 1e-6 * want_short[i]) << i;
    EXPECT_NEAR(long_freq[i], want_long[i], 1e-6 * want_long[i]) << i;
  }
  // Up to original_max_position_embeddings 6 positions: short; from 7: long.
  for (int64_t seq : {1, 5, 6}) {
    EXPECT_TRUE(at::equal(HfPhi3RopeInverseFrequencies(c, seq), HfRopeInverseFrequencies(c)))
        << seq;
  }
  EXPECT_TRUE(at::equal(HfPhi3RopeInverseFrequencies(c, 100), HfPhi3RopeInverseFrequencies(c, 7)));
  EXPECT_TRUE(at::equal(HfLayerRopeInverseFrequencies(c, 1), HfRopeInverseFrequencies(c)));

  // Without longrope: 1 / 10000^(2i / rotary_dim) at any length.
  for (const HfConfig& unscaled : {plain, three_quarters}) {
    const int64_t rotary_dim = HfRotaryDim(unscaled);
    const Vec f = ToVec(HfPhi3RopeInverseFrequencies(unscaled, 1000));
    ASSERT_EQ(f.size(), static_cast<size_t>(rotary_dim / 2));
    for (size_t i = 0; i < f.size(); ++i) {
      const double want = std::pow(10000.0, -2.0 * static_cast<double>(i) / rotary_dim);
      EXPECT_NEAR(f[i], want, 1e-6 * want) << rotary_dim << " " << i;
    }
  }
  EXPECT_THROW(HfPhi3RopeInverseFrequencies(TinyMistralConfig(), 4), c10::Error);
  EXPECT_THROW(HfPhi3RopeInverseFrequencies(c, 0), c10::Error);
}

TEST(HfReferenceTest, Phi3AttentionFactor) {
  const HfConfig c = TinyPhi3Config();
  const double want = std::sqrt(1.0 + std::log(8.0) / std::log(6.0));  // about 1.47
  EXPECT_NEAR(HfRopeAttentionFactor(c), want, 1e-15);
  EXPECT_GT(HfRopeAttentionFactor(c), 1.4);
  EXPECT_EQ(HfRopeAttentionFactor(TinyPhi3PlainConfig()), 1.0);
  EXPECT_EQ(HfRopeAttentionFactor(TinyLlama3Config()), 1.0);
  HfConfig twice = c;
  twice.max_position_embeddings = 12;
  EXPECT_NEAR(HfRopeAttentionFactor(twice), std::sqrt(1.0 + std::log(2.0) / std::log(6.0)), 1e-15);
  HfConfig same = c;  // factor 1: no scaling
  same.max_position_embeddings = 6;
  EXPECT_EQ(HfRopeAttentionFactor(same), 1.0);
  HfConfig below = c;
  below.max_position_embeddings = 4;
  EXPECT_EQ(HfRopeAttentionFactor(below), 1.0);

  // It scales cos and sin, so the rotary part of every q.k by its square:
  // position 0 only sees itself (unchanged), the others move.
  const StateDict state = MakeHfStateDict(c, 32);
  for (int64_t seq : {6, 9}) {  // short and long mode: the same factor
    const std::vector<int64_t> row = Row(seq, c.vocab_size, 4);
    const at::Tensor scaled = LogitsOf(c, state, row), unscaled = LogitsOf(same, state, row);
    EXPECT_LT(MaxAbsDiff(scaled.select(1, 0), unscaled.select(1, 0)), 1e-6) << seq;
    for (int64_t t = 1; t < seq; ++t) {
      EXPECT_GT(MaxAbsDiff(scaled.select(1, t), unscaled.select(1, t)), 1e-4) << seq << " " << t;
    }
    ExpectMatchesElementary(same, state, row, unscaled[0], 2e-5, 2e-5);
  }
}

TEST(HfReferenceTest, Phi3PartialRotaryLeavesTheOtherFeaturesUnrotated) {
  const HfConfig c = TinyPhi3Config();  // head_dim 16, rotary_dim 8
  const StateDict state = MakeHfStateDict(c, 33);
  // `state` with features [from, to) of every q and k head zeroed (qkv_proj
  // rows [0, 96) are the 4 q and 2 k heads of 16).
  auto zero_features = [&](int64_t from, int64_t to) {
    StateDict out = state;
    for (int64_t layer = 0; layer < c.num_hidden_layers; ++layer) {
      const std::string name =
          "model.layers." + std::to_string(layer) + ".self_attn.qkv_proj.weight";
      out[name] = state.at(name).clone();
      for (int64_t head = 0; head < 6; ++head)
        out[name].slice(0, head * 16 + from, head * 16 + to).zero_();
    }
    return out;
  };
  const StateDict pass_only = zero_features(0, 8), rotary_only = zero_features(8, 16);
  // Another RoPE altogether: theta, both factor lists and the attention factor.
  HfConfig other = c;
  other.rope_theta = 500.0;
  other.longrope->short_factor = {3.0, 1.0, 1.0, 0.5};
  other.longrope->long_factor = {0.5, 1.0, 7.0, 2.0};
  other.max_position_embeddings = 6;
  for (int64_t seq : {6, 9}) {
    const std::vector<int64_t> row = Row(seq, c.vocab_size, 6);
    // With only features 8..15 left, RoPE does not matter at all...
    EXPECT_TRUE(at::equal(LogitsOf(c, pass_only, row), LogitsOf(other, pass_only, row))) << seq;
    // ...while with only features 0..7 it does.
    EXPECT_GT(MaxAbsDiff(LogitsOf(c, rotary_only, row), LogitsOf(other, rotary_only, row)), 1e-4)
        << seq;
  }
  // With full rotary, features 8..15 are rotated too and theta matters.
  HfConfig full = c;
  full.partial_rotary_factor = 1.0;
  full.longrope.reset();
  HfConfig full_other = full;
  full_other.rope_theta = 500.0;
  const std::vector<int64_t> row = Row(8, c.vocab_size, 6);
  EXPECT_GT(MaxAbsDiff(LogitsOf(full, pass_only, row), LogitsOf(full_other, pass_only, row)), 1e-4);
}

TEST(HfReferenceTest, Phi3LongRopeSwitchesForTheWholeCall) {
  const HfConfig c = TinyPhi3Config();
  ASSERT_EQ(c.longrope->original_max_position_embeddings, 6);
  const StateDict state = MakeHfStateDict(c, 34);
  const std::vector<int64_t> row7 = Row(7, c.vocab_size, 5);
  const std::vector<int64_t> row6(row7.begin(), row7.begin() + 6);
  const at::Tensor long7 = LogitsOf(c, state, row7), short6 = LogitsOf(c, state, row6);
  // Position 0 is at angle 0 in both modes (the same attention factor)...
  EXPECT_LT(MaxAbsDiff(long7.select(1, 0), short6.select(1, 0)), 1e-6);
  // ...positions 1..5 of the 7-token call saw the long factors.
  for (int64_t t = 1; t < 6; ++t) {
    EXPECT_GT(MaxAbsDiff(long7.select(1, t), short6.select(1, t)), 1e-4) << t;
  }
  HfConfig long_as_short = c;
  long_as_short.longrope->short_factor = c.longrope->long_factor;
  EXPECT_LT(MaxAbsDiff(long7.slice(1, 0, 6), LogitsOf(long_as_short, state, row6)), 1e-5);

  // Within one mode the model is causal: the 6-token call's rows equal those
  // of shorter (short-mode) calls, and a 9-token call's first rows the 7-token
  // (long-mode) call's.
  for (size_t n = 1; n < 6; ++n) {
    const std::vector<int64_t> prefix(row6.begin(), row6.begin() + n);
    EXPECT_LT(MaxAbsDiff(short6.slice(1, 0, n), LogitsOf(c, state, prefix)), 1e-5) << n;
  }
  const std::vector<int64_t> row9 = Row(9, c.vocab_size, 5);
  ASSERT_TRUE(std::equal(row7.begin(), row7.end(), row9.begin()));
  EXPECT_LT(MaxAbsDiff(LogitsOf(c, state, row9).slice(1, 0, 7), long7), 1e-5);
  // Without longrope nothing switches.
  HfConfig no_longrope = c;
  no_longrope.longrope.reset();
  EXPECT_LT(MaxAbsDiff(LogitsOf(no_longrope, state, row7).slice(1, 0, 6),
                       LogitsOf(no_longrope, state, row6)),
            1e-5);
  // Both modes agree with the elementary loops.
  ExpectMatchesElementary(c, state, row6, short6[0], 2e-5, 2e-5);
  ExpectMatchesElementary(c, state, row7, long7[0], 2e-5, 2e-5);
  ExpectMatchesElementary(no_longrope, state, row7, LogitsOf(no_longrope, state, row7)[0], 2e-5,
                          2e-5);
}

TEST(HfReferenceTest, Phi3SlidesOnEveryLayer) {
  const HfConfig c = TinyPhi3Config();
  EXPECT_EQ(HfLayerSlidingWindow(c, 0), std::optional<int64_t>(5));
  EXPECT_EQ(HfLayerSlidingWindow(c, 1), std::optional<int64_t>(5));
  EXPECT_EQ(HfLayerSlidingWindow(TinyPhi3PlainConfig(), 1), std::optional<int64_t>(4));
  HfConfig one = c;
  one.num_hidden_layers = 1;
  const StateDict one_state = MakeHfStateDict(one, 35);
  // Short mode (6 tokens): position 5 sees keys 1..5; the token 5 back is invisible.
  EXPECT_TRUE(LastDependsOn(one, one_state, 6, 1));
  EXPECT_FALSE(LastDependsOn(one, one_state, 6, 0));
  // Long mode (12 tokens): position 11 sees keys 7..11.
  EXPECT_TRUE(LastDependsOn(one, one_state, 12, 7));
  EXPECT_FALSE(LastDependsOn(one, one_state, 12, 6));
  // Two layers reach 2 * 4 back.
  const StateDict state = MakeHfStateDict(c, 35);
  EXPECT_TRUE(LastDependsOn(c, state, 12, 3));
  EXPECT_FALSE(LastDependsOn(c, state, 12, 2));
  // No window: everything is visible; within its length the window is inert.
  HfConfig none = one;
  none.sliding_window.reset();
  EXPECT_EQ(HfLayerSlidingWindow(none, 0), std::nullopt);
  EXPECT_TRUE(LastDependsOn(none, one_state, 12, 0));
  const std::vector<int64_t> row = Row(5, c.vocab_size, 2);
  EXPECT_TRUE(at::equal(LogitsOf(one, one_state, row), LogitsOf(none, one_state, row)));
}

TEST(HfReferenceTest, Phi3ConfigJson) {
  const std::string phi3 = ToConfigJson(TinyPhi3Config());
  EXPECT_TRUE(Has(phi3, "\"architectures\": [\"Phi3ForCausalLM\"],"));
  EXPECT_TRUE(Has(phi3, "\"model_type\": \"phi3\","));
  EXPECT_TRUE(Has(phi3, "\"hidden_act\": \"silu\","));
  EXPECT_TRUE(Has(phi3, "\"num_key_value_heads\": 2,"));
  EXPECT_TRUE(Has(phi3, "\"max_position_embeddings\": 48,"));
  EXPECT_TRUE(Has(phi3, "\"rms_norm_eps\": 1e-05,"));
  EXPECT_TRUE(Has(phi3, "\"rope_theta\": 10000.0,"));
  EXPECT_TRUE(Has(phi3,
                  "\"rope_scaling\": {\"type\": \"longrope\", \"short_factor\": [1.0, 1.5, 2.0, "
                  "4.0], \"long_factor\": [2.0, 3.0, 5.0, 8.0]},"));
  EXPECT_TRUE(Has(phi3, "\n  \"original_max_position_embeddings\": 6,"));  // top level
  EXPECT_EQ(phi3.find("original_max_position_embeddings"),
            phi3.rfind("original_max_position_embeddings"));  // only there
  EXPECT_TRUE(Has(phi3, "\"partial_rotary_factor\": 0.5,"));
  EXPECT_TRUE(Has(phi3, "\"sliding_window\": 5,"));
  EXPECT_TRUE(Has(phi3, "\"resid_pdrop\": 0.0,"));
  EXPECT_TRUE(Has(phi3, "\"embd_pdrop\": 0.0,"));
  EXPECT_TRUE(Has(phi3, "\"attention_bias\": false,"));
  EXPECT_TRUE(Has(phi3, "\"attention_dropout\": 0.0,"));
  EXPECT_TRUE(Has(phi3, "\"tie_word_embeddings\": false"));
  EXPECT_FALSE(Has(phi3, "head_dim"));
  EXPECT_FALSE(Has(phi3, "mlp_bias"));
  EXPECT_FALSE(Has(phi3, "use_sliding_window"));

  const std::string plain = ToConfigJson(TinyPhi3PlainConfig());
  EXPECT_TRUE(Has(plain, "\"rope_scaling\": null,"));
  EXPECT_TRUE(Has(plain, "\"partial_rotary_factor\": 1.0,"));
  EXPECT_TRUE(
      Has(plain, "\"original_max_position_embeddings\": 32,"));  // = max_position_embeddings
  EXPECT_TRUE(Has(plain, "\"sliding_window\": 4,"));
  EXPECT_TRUE(Has(plain, "\"tie_word_embeddings\": true"));
  EXPECT_FALSE(Has(plain, "head_dim"));

  // Factors that are not whole read back exactly; no window is null.
  HfConfig odd = TinyPhi3Config();
  odd.longrope->short_factor[1] = 1.1;
  odd.longrope->long_factor[3] = 0.1 + 0.2;
  odd.sliding_window.reset();
  const std::string odd_json = ToConfigJson(odd);
  EXPECT_TRUE(Has(odd_json, "\"short_factor\": [1.0, 1.1, 2.0, 4.0]"));
  EXPECT_TRUE(Has(odd_json, "\"long_factor\": [2.0, 3.0, 5.0, 0.30000000000000004]"));
  EXPECT_TRUE(Has(odd_json, "\"sliding_window\": null,"));
  // Other types write none of phi3's keys.
  for (const HfConfig& other : {TinyLlama3Config(), TinyMistralConfig(), TinyStarcoder2Config()}) {
    const std::string json = ToConfigJson(other);
    EXPECT_FALSE(Has(json, "partial_rotary_factor")) << other.model_type;
    EXPECT_FALSE(Has(json, "pdrop")) << other.model_type;
    EXPECT_FALSE(Has(json, "longrope")) << other.model_type;
  }
}

TEST(HfReferenceTest, Phi3RejectsBadConfigs) {
  std::vector<HfConfig> bad;
  auto add = [&bad](HfConfig c, auto change) {
    change(c);
    bad.push_back(c);
  };
  add(TinyPhi3PlainConfig(), [](HfConfig& c) { c.head_dim = 16; });  // even the implied one
  add(TinyPhi3Config(), [](HfConfig& c) { c.head_dim = 32; });
  add(TinyPhi3Config(), [](HfConfig& c) { c.attention_bias = true; });
  add(TinyPhi3Config(), [](HfConfig& c) { c.longrope->short_factor.pop_back(); });
  add(TinyPhi3Config(), [](HfConfig& c) { c.longrope->long_factor.push_back(9.0); });
  add(TinyPhi3Config(), [](HfConfig& c) { c.longrope->short_factor[2] = 0.0; });
  add(TinyPhi3Config(), [](HfConfig& c) { c.partial_rotary_factor = 0.75; });  // needs 6 factors
  add(TinyPhi3Config(), [](HfConfig& c) { c.longrope->original_max_position_embeddings = 1; });
  add(TinyPhi3Config(), [](HfConfig& c) { c.rope_scaling = HfConfig::Llama3Scaling(); });
  add(TinyPhi3PlainConfig(), [](HfConfig& c) { c.partial_rotary_factor = 0.1; });  // int(1.6) odd
  add(TinyPhi3PlainConfig(), [](HfConfig& c) { c.partial_rotary_factor = 0.0; });
  add(TinyPhi3PlainConfig(), [](HfConfig& c) { c.partial_rotary_factor = 1.5; });
  add(TinyPhi3PlainConfig(), [](HfConfig& c) { c.rope_scaling = HfConfig::Llama3Scaling(); });
  add(TinyLlama3Config(), [](HfConfig& c) { c.partial_rotary_factor = 0.5; });
  add(TinyMistralConfig(), [](HfConfig& c) { c.longrope = TinyPhi3Config().longrope; });
  add(TinyStarcoder2Config(), [](HfConfig& c) { c.partial_rotary_factor = 0.5; });
  for (const HfConfig& c : bad) {
    EXPECT_THROW(ToConfigJson(c), c10::Error) << c.model_type;
    EXPECT_THROW(MakeHfStateDict(c, 1), c10::Error) << c.model_type;
    EXPECT_THROW(HfRotaryDim(c), c10::Error) << c.model_type;
    EXPECT_THROW(HfRopeInverseFrequencies(c), c10::Error) << c.model_type;
    EXPECT_THROW(HfRopeAttentionFactor(c), c10::Error) << c.model_type;
  }
  // Their valid neighbours.
  HfConfig truncated = TinyPhi3PlainConfig();
  truncated.partial_rotary_factor = 0.3;  // int(4.8) = 4
  EXPECT_NO_THROW(ToConfigJson(truncated));
  HfConfig six = TinyPhi3Config();
  six.partial_rotary_factor = 0.75;
  six.longrope->short_factor = {1, 1, 1, 1, 1, 1};
  six.longrope->long_factor = {2, 2, 2, 2, 2, 2};
  EXPECT_NO_THROW(ToConfigJson(six));
  HfConfig one = TinyPhi3Config();
  one.longrope->original_max_position_embeddings = 1;
  one.max_position_embeddings = 1;
  EXPECT_NO_THROW(ToConfigJson(one));
  EXPECT_EQ(HfRopeAttentionFactor(one), 1.0);
}

}  // namespace
}  // namespace modelhub::testing
