#include "runtime/models/decoder_model.h"

#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "runtime/core/errors.h"
#include "runtime/models/generate.h"
#include "tests/testing/error_of.h"
#include "tests/testing/reference_counts.h"
#include "tests/testing/small_blueprint.h"

namespace modelhub {
namespace {

using testing::SmallBlueprint;

ModuleOptions Double() {
  ModuleOptions options;
  options.dtype = at::kDouble;
  return options;
}

at::Tensor Tokens(std::vector<int64_t> ids) { return at::tensor(ids).unsqueeze(0); }

// Blueprints that exercise each optional block, as Qwen 3, Mistral and Llama 3.x use them.
std::vector<std::pair<std::string, DecoderBlueprint>> Variants() {
  DecoderBlueprint qwen3 = SmallBlueprint();
  qwen3.attention.head_dim = 16;
  qwen3.attention.q_norm = qwen3.attention.k_norm = true;
  qwen3.tied_embeddings = true;
  DecoderBlueprint qwen25 = SmallBlueprint();
  qwen25.attention.qkv_bias = true;
  DecoderBlueprint mistral = SmallBlueprint();
  mistral.attention.sliding_window = 4;
  DecoderBlueprint llama31 = SmallBlueprint();
  llama31.rope.theta = 500000.0;
  llama31.rope.llama3_scaling = Llama3RopeScaling{8.0, 1.0, 4.0, 16};
  DecoderBlueprint interleaved = SmallBlueprint();
  interleaved.rope.layout = RopeLayout::kInterleaved;
  DecoderBlueprint biased = SmallBlueprint();  // attention_bias in transformers' Llama
  biased.attention.qkv_bias = biased.attention.output_bias = true;
  // Gemma 2: sandwich norms scaling by 1 + w, GeGLU, scaled embeddings, a
  // window on alternate layers, soft-capping, its own query scale.
  DecoderBlueprint gemma2 = SmallBlueprint();
  gemma2.embedding.scale_by_sqrt_dim = true;
  gemma2.norm.unit_offset = gemma2.norm.after = true;
  gemma2.ffn.activation = "gelu_pytorch_tanh";
  gemma2.attention.sliding_window = 3;
  gemma2.attention.sliding_window_pattern = 2;
  gemma2.attention.query_pre_attn_scalar = 12.0;
  gemma2.attention.logit_softcap = 2.0;
  gemma2.logits.softcap = 1.5;
  gemma2.tied_embeddings = true;
  // Gemma 3: per-head q/k norms, local layers with their own RoPE theta,
  // global ones with linear scaling.
  DecoderBlueprint gemma3 = gemma2;
  gemma3.attention.q_norm = gemma3.attention.k_norm = true;
  gemma3.attention.logit_softcap.reset();
  gemma3.rope.theta = 1e6;
  gemma3.rope.local_theta = 10000.0;
  gemma3.rope.linear_factor = 4.0;
  // OLMo 2: norms after the sub-blocks only, q/k norms over the whole width.
  DecoderBlueprint olmo2 = SmallBlueprint();
  olmo2.norm.before = false;
  olmo2.norm.after = true;
  olmo2.attention.q_norm = olmo2.attention.k_norm = true;
  olmo2.attention.qk_norm_per_head = false;
  // Granite: multipliers and an attention scale of its own.
  DecoderBlueprint granite = SmallBlueprint();
  granite.embedding.multiplier = 12.0;
  granite.residual_multiplier = 0.22;
  granite.attention.scale = 0.05;
  granite.logits.divisor = 8.0;
  // StarCoder 2: LayerNorms, a plain GELU MLP, biases everywhere, a window.
  DecoderBlueprint starcoder2 = SmallBlueprint();
  starcoder2.norm.kind = "layer";
  starcoder2.ffn.kind = "mlp";
  starcoder2.ffn.activation = "gelu_pytorch_tanh";
  starcoder2.ffn.bias = true;
  starcoder2.attention.qkv_bias = starcoder2.attention.output_bias = true;
  starcoder2.attention.sliding_window = 4;
  // Phi-3 (Phi-4 mini): half of each head rotated, LongRoPE (the 12 tokens
  // the tests use stay within its original 16: short factors, the attention
  // factor of 40 / 16), a window.
  DecoderBlueprint phi3 = SmallBlueprint();
  phi3.rope.partial_factor = 0.5;
  phi3.rope.longrope_scaling = LongRopeScaling{{1.0, 1.5}, {2.0, 6.0}, 16};
  phi3.attention.sliding_window = 5;
  return {{"qwen3", qwen3},     {"biased", biased},         {"qwen25", qwen25},
          {"mistral", mistral}, {"llama31", llama31},       {"interleaved", interleaved},
          {"gemma2", gemma2},   {"gemma3", gemma3},         {"olmo2", olmo2},
          {"granite", granite}, {"starcoder2", starcoder2}, {"phi3", phi3}};
}

TEST(DecoderModelTest, SlidingWindowPatternMakesEveryNthLayerGlobal) {
  DecoderBlueprint b = SmallBlueprint();
  b.num_layers = 6;
  EXPECT_FALSE(b.IsLocalLayer(0));  // no window: every layer global
  b.attention.sliding_window = 4;
  for (int64_t i = 0; i < 6; ++i) EXPECT_TRUE(b.IsLocalLayer(i)) << i;
  b.attention.sliding_window_pattern = 3;  // layers 2 and 5 global (Gemma 3's rule)
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(b.IsLocalLayer(i), i != 2 && i != 5) << i;
  b.attention.sliding_window_pattern = 2;  // Gemma 2: even layers local
  for (int64_t i = 0; i < 6; ++i) EXPECT_EQ(b.IsLocalLayer(i), i % 2 == 0) << i;
}

TEST(DecoderModelTest, OneGlobalLayerIgnoresTheWindow) {
  DecoderBlueprint windowed = SmallBlueprint();
  windowed.num_layers = 1;
  windowed.attention.sliding_window = 2;
  windowed.attention.sliding_window_pattern = 1;  // every layer global
  DecoderBlueprint plain = windowed;
  plain.attention.sliding_window.reset();
  plain.attention.sliding_window_pattern.reset();
  at::manual_seed(3);
  DecoderModel a(windowed, Double());
  at::manual_seed(3);
  DecoderModel b(plain, Double());
  c10::InferenceMode inference;
  const at::Tensor tokens = Tokens({1, 2, 3, 4, 5, 6});
  EXPECT_TRUE(at::equal(a.forward(tokens), b.forward(tokens)));
}

TEST(DecoderModelTest, LogitMultipliersAndCapsApplyExactly) {
  DecoderBlueprint plain = SmallBlueprint();
  DecoderBlueprint divided = plain;
  divided.logits.divisor = 4.0;
  DecoderBlueprint capped = plain;
  capped.logits.softcap = 0.5;
  at::manual_seed(4);
  DecoderModel a(plain, Double());
  at::manual_seed(4);
  DecoderModel b(divided, Double());
  at::manual_seed(4);
  DecoderModel c(capped, Double());
  c10::InferenceMode inference;
  const at::Tensor tokens = Tokens({1, 2, 3, 4});
  const at::Tensor logits = a.forward(tokens);
  EXPECT_TRUE(at::allclose(b.forward(tokens), logits / 4.0, 1e-12, 1e-12));
  EXPECT_TRUE(at::allclose(c.forward(tokens), at::tanh(logits / 0.5) * 0.5, 1e-12, 1e-12));
  EXPECT_LE(c.forward(tokens).abs().max().item<double>(), 0.5);
}

TEST(DecoderModelTest, KvCacheDecodingEqualsTheFullForward) {
  for (const auto& [name, blueprint] : Variants()) {
    at::manual_seed(7);
    DecoderModel model(blueprint, Double());
    c10::InferenceMode inference;
    at::Tensor tokens = at::randint(0, 50, {2, 12}, at::kLong);
    at::Tensor full = model.forward(tokens);

    KvCache cache = model.NewKvCache();
    std::vector<at::Tensor> pieces = {model.forward(tokens.slice(1, 0, 5), {}, &cache)};
    for (int64_t i = 5; i < 12; ++i) {
      pieces.push_back(model.forward(tokens.slice(1, i, i + 1), {}, &cache));
    }
    EXPECT_EQ(cache.length, 12);
    at::Tensor incremental = at::cat(pieces, 1);
    EXPECT_TRUE(at::allclose(incremental, full, 1e-9, 1e-9))
        << name << ": " << (incremental - full).abs().max().item<double>();
  }
}

TEST(DecoderModelTest, RightPaddingDoesNotChangeRealPositions) {
  for (const auto& [name, blueprint] : Variants()) {
    at::manual_seed(8);
    DecoderModel model(blueprint, Double());
    c10::InferenceMode inference;
    at::Tensor batch =
        at::tensor(std::vector<int64_t>{3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 0, 0, 0, 0}).reshape({2, 7});
    at::Tensor mask =
        at::tensor({1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0}).to(at::kBool).reshape({2, 7});
    at::Tensor padded = model.forward(batch, mask);
    at::Tensor alone = model.forward(Tokens({1, 2, 3}));
    EXPECT_TRUE(at::allclose(padded[1].slice(0, 0, 3), alone[0], 1e-9, 1e-9)) << name;
    EXPECT_TRUE(padded.isfinite().all().item<bool>()) << name;
  }
}

// Rows of different lengths decoded together, right-padded at prefill, give
// each row what decoding it alone gives.
TEST(DecoderModelTest, PaddedBatchDecodingEqualsDecodingEachRowAlone) {
  for (const auto& [name, blueprint] : Variants()) {
    at::manual_seed(10);
    DecoderModel model(blueprint, Double());
    c10::InferenceMode inference;
    const std::vector<std::vector<int64_t>> prompts = {{3, 4, 5, 6, 7}, {8, 9}};
    const std::vector<int64_t> steps = {11, 12, 13};
    at::Tensor batch =
        at::tensor(std::vector<int64_t>{3, 4, 5, 6, 7, 8, 9, 0, 0, 0}).reshape({2, 5});
    at::Tensor mask = at::tensor(std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 0, 0, 0})
                          .to(at::kBool)
                          .reshape({2, 5});
    KvCache batch_cache = model.NewKvCache();
    model.forward(batch, mask, &batch_cache);
    std::vector<at::Tensor> batch_steps;
    for (int64_t token : steps) {
      batch_steps.push_back(model.forward(at::full({2, 1}, token, at::kLong), {}, &batch_cache));
    }
    for (size_t row = 0; row < prompts.size(); ++row) {
      KvCache cache = model.NewKvCache();
      model.forward(Tokens(prompts[row]), {}, &cache);
      for (size_t i = 0; i < steps.size(); ++i) {
        at::Tensor alone = model.forward(Tokens({steps[i]}), {}, &cache);
        EXPECT_TRUE(at::allclose(batch_steps[i][row], alone[0], 1e-9, 1e-9))
            << name << " row " << row << " step " << i;
      }
    }
  }
}

TEST(DecoderModelTest, SlidingWindowLimitsWhatEarlyTokensInfluence) {
  DecoderBlueprint blueprint = SmallBlueprint();
  blueprint.num_layers = 1;
  blueprint.attention.sliding_window = 3;
  at::manual_seed(9);
  DecoderModel model(blueprint, Double());
  c10::InferenceMode inference;
  at::Tensor a = model.forward(Tokens({1, 2, 3, 4, 5, 6}));
  at::Tensor b = model.forward(Tokens({9, 2, 3, 4, 5, 6}));
  // With one layer and window 3, position 5 sees positions 3..5 only.
  EXPECT_TRUE(at::allclose(a[0][5], b[0][5], 1e-12, 1e-12));
  EXPECT_FALSE(at::allclose(a[0][2], b[0][2], 1e-6, 1e-6));
}

TEST(DecoderModelTest, ParametersHaveFairseq2Names) {
  DecoderBlueprint blueprint = SmallBlueprint();
  blueprint.num_layers = 1;
  blueprint.attention.qkv_bias = true;
  blueprint.attention.q_norm = blueprint.attention.k_norm = true;
  DecoderModel model(blueprint, ModuleOptions{});
  std::set<std::string> names;
  for (const auto& item : model.named_parameters()) names.insert(item.key());
  const std::set<std::string> expected = {"decoder_frontend.embed.weight",
                                          "decoder.layers.0.self_attn_layer_norm.weight",
                                          "decoder.layers.0.self_attn.q_proj.weight",
                                          "decoder.layers.0.self_attn.q_proj.bias",
                                          "decoder.layers.0.self_attn.k_proj.weight",
                                          "decoder.layers.0.self_attn.k_proj.bias",
                                          "decoder.layers.0.self_attn.v_proj.weight",
                                          "decoder.layers.0.self_attn.v_proj.bias",
                                          "decoder.layers.0.self_attn.q_norm.weight",
                                          "decoder.layers.0.self_attn.k_norm.weight",
                                          "decoder.layers.0.self_attn.output_proj.weight",
                                          "decoder.layers.0.ffn_layer_norm.weight",
                                          "decoder.layers.0.ffn.gate_proj.weight",
                                          "decoder.layers.0.ffn.inner_proj.weight",
                                          "decoder.layers.0.ffn.output_proj.weight",
                                          "decoder.layer_norm.weight",
                                          "final_proj.weight"};
  EXPECT_EQ(names, expected);
  EXPECT_EQ(model.num_parameters(), testing::ReferenceParameterCount(blueprint));
}

TEST(DecoderModelTest, TiedEmbeddingsShareTheTable) {
  DecoderBlueprint blueprint = SmallBlueprint();
  blueprint.tied_embeddings = true;
  at::manual_seed(1);
  DecoderModel model(blueprint, Double());
  auto params = model.named_parameters();
  EXPECT_FALSE(params.contains("final_proj.weight"));
  c10::InferenceMode inference;
  at::Tensor logits = model.forward(Tokens({4}));
  // With tied weights the logit of a token is <final hidden state, its embedding>.
  EXPECT_EQ(logits.size(-1), 50);
  EXPECT_EQ(model.num_parameters(), testing::ReferenceParameterCount(blueprint));
}

TEST(DecoderModelTest, MetaModelsOfAnySizeAllocateNothing) {
  DecoderBlueprint huge = SmallBlueprint();  // Llama 3.1 405B's shape
  huge.model_dim = 16384;
  huge.num_layers = 126;
  huge.vocab_size = 128256;
  huge.attention.num_heads = 128;
  huge.attention.num_kv_heads = 8;
  huge.ffn.inner_dim = 53248;
  ModuleOptions meta;
  meta.device = c10::Device(c10::kMeta);
  meta.dtype = at::kBFloat16;
  DecoderModel model(huge, meta);
  EXPECT_EQ(model.num_parameters(), 405853388800);
  for (const at::Tensor& parameter : model.parameters()) ASSERT_TRUE(parameter.is_meta());
}

TEST(DecoderModelTest, ParameterShapesAndCountAreComputedWithoutAModel) {
  std::vector<std::pair<std::string, DecoderBlueprint>> blueprints = Variants();
  blueprints.emplace_back("small", SmallBlueprint());
  for (const auto& [name, blueprint] : blueprints) {
    ModuleOptions meta;
    meta.device = c10::Device(c10::kMeta);
    DecoderModel model(blueprint, meta);
    std::map<std::string, std::vector<int64_t>> built;
    for (const auto& item : model.named_parameters()) {
      built[item.key()] = item.value().sizes().vec();
    }
    EXPECT_EQ(DecoderParameterShapes(blueprint), built) << name;
    EXPECT_EQ(DecoderParameterCount(blueprint), model.num_parameters()) << name;
  }
  // Any size costs the same to count: no shape is listed.
  DecoderBlueprint one = SmallBlueprint();
  one.num_layers = 1;
  DecoderBlueprint two = SmallBlueprint();
  two.num_layers = 2;
  const int64_t per_layer = DecoderParameterCount(two) - DecoderParameterCount(one);
  DecoderBlueprint huge = SmallBlueprint();
  huge.num_layers = int64_t{1} << 40;
  EXPECT_EQ(DecoderParameterCount(huge),
            DecoderParameterCount(one) + (huge.num_layers - 1) * per_layer);
  huge.model_dim = int64_t{1} << 40;
  huge.attention.head_dim = 16;
  EXPECT_NE(testing::ErrorOf<ConfigError>([&] { DecoderParameterCount(huge); })
                .find("overflows a 64-bit integer (model_dim 1099511627776, num_layers "
                      "1099511627776"),
            std::string::npos);
}

TEST(DecoderModelTest, ModelsLargerThanMemoryAreRefusedBeforeAllocating) {
  // 2^31 layers of the small blueprint: tens of TB as float32, and their
  // bookkeeping alone would not fit on the meta device either.
  DecoderBlueprint layers = SmallBlueprint();
  layers.num_layers = int64_t{1} << 31;
  const std::string on_cpu =
      testing::ErrorOf<ConfigError>([&] { DecoderModel(layers, ModuleOptions{}); });
  EXPECT_NE(on_cpu.find("num_layers 2147483648"), std::string::npos) << on_cpu;
  EXPECT_NE(on_cpu.find(" as Float, more than the "), std::string::npos) << on_cpu;
  EXPECT_NE(on_cpu.find("of memory (RAM and swap) of this machine"), std::string::npos) << on_cpu;
  ModuleOptions meta;
  meta.device = c10::Device(c10::kMeta);
  EXPECT_NE(testing::ErrorOf<ConfigError>([&] {
              DecoderModel(layers, meta);
            }).find("parameter tensors, whose bookkeeping alone takes"),
            std::string::npos);
  DecoderBlueprint wide = SmallBlueprint();
  wide.model_dim = int64_t{1} << 31;
  wide.attention.head_dim = 16;
  EXPECT_NE(testing::ErrorOf<ConfigError>([&] {
              DecoderModel(wide, ModuleOptions{});
            }).find("a model of model_dim 2147483648"),
            std::string::npos);
}

TEST(DecoderModelTest, LowPrecisionForwardStaysCloseToFloat32) {
  at::manual_seed(5);
  DecoderModel reference(SmallBlueprint(), ModuleOptions{});
  ModuleOptions bf16;
  bf16.dtype = at::kBFloat16;
  DecoderModel model(SmallBlueprint(), bf16);
  {
    at::NoGradGuard no_grad;
    auto source = reference.named_parameters();
    for (auto& item : model.named_parameters()) item.value().copy_(source[item.key()]);
  }
  c10::InferenceMode inference;
  at::Tensor tokens = Tokens({1, 2, 3, 4, 5});
  at::Tensor low = model.forward(tokens);
  EXPECT_EQ(low.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(at::allclose(low.to(at::kFloat), reference.forward(tokens), 0.05, 0.05));
}

TEST(DecoderModelTest, BadInputsAreClearErrors) {
  DecoderModel model(SmallBlueprint(), ModuleOptions{});
  c10::InferenceMode inference;
  auto message = [&](const at::Tensor& seqs, const at::Tensor& mask = {}) {
    return testing::ErrorOf<InvalidModelInputError>([&] { model.forward(seqs, mask); });
  };
  EXPECT_EQ(message(Tokens({1, 50})), "token id 50 is outside the vocabulary [0, 50)");
  EXPECT_EQ(message(Tokens({-1, 2})), "token id -1 is outside the vocabulary [0, 50)");
  EXPECT_EQ(message(at::zeros({1, 41}, at::kLong)),
            "sequence of 41 tokens is longer than max_seq_len 40");
  EXPECT_EQ(message(at::zeros({1, 3}, at::kInt)),
            "token ids must be a [batch, seq_len] int64 tensor");
  EXPECT_EQ(message(at::zeros({3}, at::kLong)),
            "token ids must be a [batch, seq_len] int64 tensor");
  EXPECT_EQ(message(at::zeros({1, 3}, at::kLong), at::ones({1, 2}).to(at::kBool)),
            "the padding mask must have the shape of the token ids");

  KvCache cache = model.NewKvCache();
  model.forward(at::zeros({1, 39}, at::kLong), {}, &cache);
  EXPECT_THROW(model.forward(at::zeros({1, 2}, at::kLong), {}, &cache), InvalidModelInputError);
  KvCache foreign;
  EXPECT_THROW(model.forward(Tokens({1}), {}, &foreign), InvalidModelInputError);
}

TEST(DecoderModelTest, UnsupportedDtypesAndBlueprintsAreRejected) {
  ModuleOptions ints;
  ints.dtype = at::kInt;
  EXPECT_THROW(DecoderModel(SmallBlueprint(), ints), InvalidModelInputError);
  DecoderBlueprint bad = SmallBlueprint();
  bad.attention.num_kv_heads = 3;
  EXPECT_THROW(DecoderModel(bad, ModuleOptions{}), ConfigError);
}

TEST(GenerateGreedyTest, MatchesArgmaxOfRepeatedFullForwards) {
  at::manual_seed(11);
  DecoderModel model(Variants()[0].second, Double());
  const std::vector<int64_t> prompt = {5, 6, 7};
  std::vector<int64_t> generated = GenerateGreedy(model, prompt, 6);
  ASSERT_EQ(generated.size(), 6u);
  c10::InferenceMode inference;
  std::vector<int64_t> sequence = prompt;
  for (int64_t expected : generated) {
    at::Tensor logits = model.forward(Tokens(sequence));
    EXPECT_EQ(logits[0][-1].argmax().item<int64_t>(), expected);
    sequence.push_back(expected);
  }
  // Stopping keeps everything up to and including the first stop token.
  const int64_t stop = generated.back();
  std::vector<int64_t> expected;
  for (int64_t token : generated) {
    expected.push_back(token);
    if (token == stop) break;
  }
  EXPECT_EQ(GenerateGreedy(model, prompt, 6, stop), expected);
  EXPECT_THROW(GenerateGreedy(model, {}, 3), InvalidModelInputError);
}

TEST(GenerateTest, SamplingIsSeededAndCutsToTopKAndTopP) {
  at::manual_seed(12);
  DecoderModel model(Variants()[0].second, Double());
  const std::vector<int64_t> prompt = {5, 6, 7};
  const std::vector<int64_t> greedy = GenerateGreedy(model, prompt, 8);
  // top_k 1 and a tiny top_p leave only the most likely token: greedy again.
  EXPECT_EQ(Generate(model, prompt, 8, SamplingOptions{1.0, 1.0, 1, 3}), greedy);
  EXPECT_EQ(Generate(model, prompt, 8, SamplingOptions{1.0, 1e-9, 0, 3}), greedy);
  // A hot sampler is reproducible with its seed and leaves the greedy path.
  const SamplingOptions hot{5.0, 1.0, 0, 42};
  const std::vector<int64_t> sampled = Generate(model, prompt, 8, hot);
  EXPECT_EQ(Generate(model, prompt, 8, hot), sampled);
  EXPECT_NE(sampled, greedy);
  for (const SamplingOptions& bad :
       {SamplingOptions{-1.0, 1.0, 0, 0}, SamplingOptions{1.0, 0.0, 0, 0},
        SamplingOptions{1.0, 1.5, 0, 0}, SamplingOptions{1.0, 1.0, -2, 0}}) {
    EXPECT_THROW(Generate(model, prompt, 2, bad), InvalidModelInputError);
  }
  EXPECT_THROW(GenerateGreedy(model, prompt, model.blueprint().max_seq_len),
               InvalidModelInputError);
}

}  // namespace
}  // namespace modelhub
