#include "tests/testing/hf_reference.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace modelhub::testing {
namespace {

using Vec = std::vector<double>;
using StateDict = std::map<std::string, at::Tensor>;

constexpr double kPi = 3.14159265358979323846;

std::vector<HfConfig> TinyConfigs() {
  return {TinyLlama3Config(), TinyQwen2Config(), TinyQwen3Config(), TinyMistralConfig()};
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

// ---------------------------------------------------------------------------
// An elementary second implementation: plain loops over doubles, written from
// the same Hugging Face semantics but sharing no code or tensor ops with
// hf_reference.cc.
class Elementary {
 public:
  Elementary(const HfConfig& c, const StateDict& state) : c_(c), state_(state) {
    d_ = c.head_dim.has_value() ? *c.head_dim : c.hidden_size / c.num_attention_heads;
  }

  // Logits [seq][vocab] for one sequence at positions 0..seq-1.
  std::vector<Vec> Forward(const std::vector<int64_t>& tokens) const {
    const int64_t seq = static_cast<int64_t>(tokens.size()), hidden = c_.hidden_size;
    const Vec embed = W("model.embed_tokens.weight");
    std::vector<Vec> h(seq, Vec(hidden));
    for (int64_t t = 0; t < seq; ++t) {
      for (int64_t e = 0; e < hidden; ++e) h[t][e] = embed[tokens[t] * hidden + e];
    }
    for (int64_t layer = 0; layer < c_.num_hidden_layers; ++layer) {
      const std::string p = "model.layers." + std::to_string(layer) + ".";
      std::vector<Vec> x(seq);
      for (int64_t t = 0; t < seq; ++t) x[t] = Norm(h[t], W(p + "input_layernorm.weight"));
      const std::vector<Vec> attn = Attention(p, x);
      for (int64_t t = 0; t < seq; ++t) {
        for (int64_t e = 0; e < hidden; ++e) h[t][e] += attn[t][e];
      }
      for (int64_t t = 0; t < seq; ++t) {
        const Vec y = Norm(h[t], W(p + "post_attention_layernorm.weight"));
        const Vec gate = Linear(y, p + "mlp.gate_proj.weight", "");
        const Vec up = Linear(y, p + "mlp.up_proj.weight", "");
        Vec act(gate.size());
        for (size_t i = 0; i < gate.size(); ++i) {
          act[i] = gate[i] / (1.0 + std::exp(-gate[i])) * up[i];
        }
        const Vec down = Linear(act, p + "mlp.down_proj.weight", "");
        for (int64_t e = 0; e < hidden; ++e) h[t][e] += down[e];
      }
    }
    const std::string head =
        c_.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight";
    std::vector<Vec> logits(seq);
    for (int64_t t = 0; t < seq; ++t) {
      logits[t] = Linear(Norm(h[t], W("model.norm.weight")), head, "");
    }
    return logits;
  }

  // The rotary inverse frequency of pair i, with llama3 scaling if configured.
  double InvFreq(int64_t i) const {
    const double f = std::pow(c_.rope_theta, -2.0 * static_cast<double>(i) / d_);
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

  Vec Norm(const Vec& x, const Vec& weight) const {
    double sum_sq = 0.0;
    for (double v : x) sum_sq += v * v;
    const double r = 1.0 / std::sqrt(sum_sq / static_cast<double>(x.size()) + c_.rms_norm_eps);
    Vec y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = weight[i] * x[i] * r;
    return y;
  }

  // Rotates pairs (i, i + d/2) of one head by position * InvFreq(i).
  Vec Rope(const Vec& x, int64_t position) const {
    const int64_t half = d_ / 2;
    Vec y(d_);
    for (int64_t i = 0; i < half; ++i) {
      const double angle = static_cast<double>(position) * InvFreq(i);
      y[i] = x[i] * std::cos(angle) - x[i + half] * std::sin(angle);
      y[i + half] = x[i + half] * std::cos(angle) + x[i] * std::sin(angle);
    }
    return y;
  }

  Vec HeadSlice(const Vec& v, int64_t head) const {
    return Vec(v.begin() + head * d_, v.begin() + (head + 1) * d_);
  }

  std::vector<Vec> Attention(const std::string& p, const std::vector<Vec>& x) const {
    const int64_t seq = static_cast<int64_t>(x.size());
    const int64_t heads = c_.num_attention_heads, kv_heads = c_.num_key_value_heads;
    const bool qkv_bias = c_.attention_bias;
    const bool o_bias = c_.attention_bias && (c_.model_type == "llama" || c_.model_type == "qwen3");
    // q[t][h], k[t][g], v[t][g]: per position and head, after norms and RoPE.
    std::vector<std::vector<Vec>> q(seq), k(seq), v(seq);
    for (int64_t t = 0; t < seq; ++t) {
      const Vec qt =
          Linear(x[t], p + "self_attn.q_proj.weight", qkv_bias ? p + "self_attn.q_proj.bias" : "");
      const Vec kt =
          Linear(x[t], p + "self_attn.k_proj.weight", qkv_bias ? p + "self_attn.k_proj.bias" : "");
      const Vec vt =
          Linear(x[t], p + "self_attn.v_proj.weight", qkv_bias ? p + "self_attn.v_proj.bias" : "");
      for (int64_t h = 0; h < heads; ++h) {
        Vec qh = HeadSlice(qt, h);
        if (c_.model_type == "qwen3") qh = Norm(qh, W(p + "self_attn.q_norm.weight"));
        q[t].push_back(Rope(qh, t));
      }
      for (int64_t g = 0; g < kv_heads; ++g) {
        Vec kh = HeadSlice(kt, g);
        if (c_.model_type == "qwen3") kh = Norm(kh, W(p + "self_attn.k_norm.weight"));
        k[t].push_back(Rope(kh, t));
        v[t].push_back(HeadSlice(vt, g));
      }
    }
    std::vector<Vec> out(seq);
    for (int64_t t = 0; t < seq; ++t) {
      Vec concat;
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t g = h / (heads / kv_heads);
        int64_t first = 0;
        if (c_.model_type == "mistral" && c_.sliding_window.has_value()) {
          first = std::max<int64_t>(0, t - *c_.sliding_window + 1);
        }
        Vec scores;
        double max_score = -1e300;
        for (int64_t j = first; j <= t; ++j) {
          double s = 0.0;
          for (int64_t e = 0; e < d_; ++e) s += q[t][h][e] * k[j][g][e];
          s /= std::sqrt(static_cast<double>(d_));
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
  int64_t d_;
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

TEST(HfReferenceTest, ShapesNamesAndFiniteness) {
  for (const HfConfig& c : TinyConfigs()) {
    const StateDict state = MakeHfStateDict(c, 1);
    size_t per_layer = 9;  // 2 norms, q/k/v/o weights, gate/up/down
    if (c.attention_bias) per_layer += 3;
    if (c.model_type == "qwen3") per_layer += 2;
    const size_t expected =
        2 + (c.tie_word_embeddings ? 0 : 1) + per_layer * static_cast<size_t>(c.num_hidden_layers);
    EXPECT_EQ(state.size(), expected) << c.model_type;
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

TEST(HfReferenceTest, StateDictIsDeterministicAndLeavesGlobalRngAlone) {
  const HfConfig c = TinyQwen3Config();
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

}  // namespace
}  // namespace modelhub::testing
