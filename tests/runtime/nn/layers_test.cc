#include <gtest/gtest.h>

#include "runtime/nn/embedding.h"
#include "runtime/nn/projection.h"
#include "runtime/nn/rms_norm.h"
#include "runtime/nn/swiglu_ffn.h"

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

TEST(SwiGLUFeedForwardTest, IsDownOfSiluGateTimesUp) {
  at::manual_seed(0);
  SwiGLUFeedForward ffn(SwiGluOptions{6, 10}, ModuleOptions{});
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
