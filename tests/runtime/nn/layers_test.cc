#include <gtest/gtest.h>

#include <cmath>
#include <stdexcept>

#include "runtime/nn/embedding.h"
#include "runtime/nn/feed_forward.h"
#include "runtime/nn/layer_norm.h"
#include "runtime/nn/projection.h"
#include "runtime/nn/rms_norm.h"

namespace modelhub {
namespace {

TEST(RMSNormTest, NormalizesInFloat32AndScales) {
  RMSNorm norm(RmsNormOptions{4, 1e-6}, ModuleOptions{});
  at::Tensor weight = norm.named_parameters()["weight"];
  EXPECT_TRUE(at::equal(weight, at::ones({4})));
  {
    at::NoGradGuard no_grad;
    weight.copy_(at::tensor({1.f, 2.f, 3.f, 4.f}));
  }
  at::Tensor x = at::tensor({1.f, -2.f, 3.f, -4.f}).unsqueeze(0);
  const double rms = std::sqrt((1 + 4 + 9 + 16) / 4.0 + 1e-6);
  at::Tensor expected = at::tensor({1 / rms, -4 / rms, 9 / rms, -16 / rms}).to(at::kFloat);
  EXPECT_TRUE(at::allclose(norm.forward(x)[0], expected, 1e-5, 1e-6));
}

TEST(RMSNormTest, UnitOffsetScalesByOnePlusWeightFromZeros) {
  RMSNorm norm(RmsNormOptions{4, 1e-6, /*unit_offset=*/true}, ModuleOptions{});
  at::Tensor weight = norm.named_parameters()["weight"];
  EXPECT_TRUE(at::equal(weight, at::zeros({4})));  // the identity, as Gemma initializes it
  {
    at::NoGradGuard no_grad;
    weight.copy_(at::tensor({0.f, 1.f, -0.5f, 2.f}));
  }
  at::Tensor x = at::tensor({1.f, -2.f, 3.f, -4.f}).unsqueeze(0);
  const double rms = std::sqrt((1 + 4 + 9 + 16) / 4.0 + 1e-6);
  at::Tensor expected = at::tensor({1 / rms, -4 / rms, 1.5 / rms, -12 / rms}).to(at::kFloat);
  EXPECT_TRUE(at::allclose(norm.forward(x)[0], expected, 1e-5, 1e-6));
}

TEST(LayerNormTest, CentresScalesAndShifts) {
  LayerNorm norm(LayerNormOptions{4, 1e-5}, ModuleOptions{});
  auto params = norm.named_parameters();
  EXPECT_TRUE(at::equal(params["weight"], at::ones({4})));
  EXPECT_TRUE(at::equal(params["bias"], at::zeros({4})));
  {
    at::NoGradGuard no_grad;
    params["weight"].copy_(at::tensor({1.f, 2.f, 1.f, 0.5f}));
    params["bias"].copy_(at::tensor({0.f, 1.f, -1.f, 0.f}));
  }
  // mean 2.5, variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25
  at::Tensor x = at::tensor({1.f, 2.f, 3.f, 4.f}).unsqueeze(0);
  const double sd = std::sqrt(1.25 + 1e-5);
  at::Tensor expected =
      at::tensor({-1.5 / sd, 2 * -0.5 / sd + 1, 0.5 / sd - 1, 0.5 * 1.5 / sd}).to(at::kFloat);
  EXPECT_TRUE(at::allclose(norm.forward(x)[0], expected, 1e-5, 1e-6));
}

TEST(ActivationTest, GeluIsExactOrTanhApproximated) {
  at::Tensor x = at::tensor({-2.0, -0.5, 0.0, 1.0, 3.0}, at::kDouble);
  for (int64_t i = 0; i < x.size(0); ++i) {
    const double v = x[i].item<double>();
    const double exact = 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
    const double tanh = 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
    EXPECT_NEAR(Activate(ActivationNamed("gelu"), x)[i].item<double>(), exact, 1e-12);
    EXPECT_NEAR(Activate(ActivationNamed("gelu_pytorch_tanh"), x)[i].item<double>(), tanh, 1e-12);
    EXPECT_NEAR(Activate(ActivationNamed("silu"), x)[i].item<double>(), v / (1 + std::exp(-v)),
                1e-12);
  }
  EXPECT_THROW(ActivationNamed("relu"), std::invalid_argument);
}

TEST(FeedForwardTest, PlainMlpWithBiasesIsOutputOfActivatedInner) {
  at::manual_seed(1);
  FeedForwardOptions o{6, 10, /*gated=*/false, Activation::kGeluTanh, /*bias=*/true};
  FeedForward ffn(o, ModuleOptions{});
  auto params = ffn.named_parameters();
  EXPECT_EQ(params.size(), 4u);  // c_fc and c_proj with biases; no gate
  EXPECT_EQ(params.find("gate_proj.weight"), nullptr);
  at::Tensor x = at::randn({3, 6});
  at::Tensor inner = at::matmul(x, params["inner_proj.weight"].t()) + params["inner_proj.bias"];
  at::Tensor act =
      0.5 * inner * (1 + at::tanh(std::sqrt(2 / M_PI) * (inner + 0.044715 * inner.pow(3))));
  at::Tensor expected =
      at::matmul(act, params["output_proj.weight"].t()) + params["output_proj.bias"];
  EXPECT_TRUE(at::allclose(ffn.forward(x), expected, 1e-5, 1e-6));
}

TEST(FeedForwardTest, GatedIsDownOfSiluGateTimesUp) {
  at::manual_seed(0);
  FeedForward ffn(FeedForwardOptions{6, 10}, ModuleOptions{});
  auto params = ffn.named_parameters();
  at::Tensor x = at::randn({3, 6});
  at::Tensor gate = at::matmul(x, params["gate_proj.weight"].t());
  at::Tensor up = at::matmul(x, params["inner_proj.weight"].t());
  at::Tensor expected =
      at::matmul(gate / (1 + at::exp(-gate)) * up, params["output_proj.weight"].t());
  EXPECT_TRUE(at::allclose(ffn.forward(x), expected, 1e-5, 1e-6));
}

TEST(MetaDeviceTest, ModulesAllocateNothingAndKeepShapes) {
  ModuleOptions meta;
  meta.device = c10::Device(c10::kMeta);
  meta.dtype = at::kBFloat16;
  Projection projection(4096, 14336, true, meta);
  Embedding embedding(EmbeddingOptions{128256, 4096}, meta);
  EXPECT_TRUE(projection.weight().is_meta());
  EXPECT_EQ(projection.weight().sizes(), (std::vector<int64_t>{14336, 4096}));
  EXPECT_EQ(projection.named_parameters()["bias"].scalar_type(), at::kBFloat16);
  EXPECT_TRUE(embedding.weight().is_meta());
}

TEST(InitializationTest, IsReproducibleFromTheSeed) {
  at::manual_seed(42);
  Projection a(8, 8, false, ModuleOptions{});
  at::manual_seed(42);
  Projection b(8, 8, false, ModuleOptions{});
  EXPECT_TRUE(at::equal(a.weight(), b.weight()));
  EXPECT_LE(a.weight().abs().max().item<float>(), 1 / std::sqrt(8.0f));
}

}  // namespace
}  // namespace modelhub
