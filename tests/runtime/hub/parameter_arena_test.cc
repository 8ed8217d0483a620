#include "runtime/hub/parameter_arena.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/module.h>

#include <cstdint>

namespace modelhub {
namespace {

TEST(ParameterArenaTest, TensorsMoveIntoOneAlignedWritableStorage) {
  torch::nn::Module module;
  at::Tensor weight = module.register_parameter("weight", at::empty({3, 5}));
  at::Tensor bias = module.register_parameter("bias", at::empty({7}, at::kBFloat16));
  at::Tensor scalar = module.register_parameter("scalar", at::empty({}, at::kDouble));
  MoveToPopulatedArena({weight, bias, scalar}, 2);

  // The module's own parameters now live in the arena, shapes and dtypes kept.
  auto parameters = module.named_parameters();
  EXPECT_EQ(parameters["weight"].sizes(), at::IntArrayRef({3, 5}));
  EXPECT_EQ(parameters["bias"].scalar_type(), at::kBFloat16);
  EXPECT_TRUE(parameters["weight"].storage().is_alias_of(parameters["bias"].storage()));
  EXPECT_TRUE(parameters["bias"].storage().is_alias_of(parameters["scalar"].storage()));
  for (const at::Tensor& tensor : {weight, bias, scalar}) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(tensor.data_ptr()) % 64, 0u);
    EXPECT_TRUE(tensor.is_contiguous());
  }
  {
    at::NoGradGuard no_grad;
    weight.fill_(1.5);
    bias.fill_(-2);
    scalar.fill_(3);
  }
  // Writing one tensor does not touch its neighbours.
  EXPECT_EQ(parameters["weight"].sum().item<double>(), 1.5 * 15);
  EXPECT_EQ(parameters["bias"].to(at::kFloat).sum().item<double>(), -14);
  EXPECT_EQ(parameters["scalar"].item<double>(), 3);
}

TEST(ParameterArenaTest, NoTensorsIsNothingToDo) { MoveToPopulatedArena({}, 4); }

}  // namespace
}  // namespace modelhub
