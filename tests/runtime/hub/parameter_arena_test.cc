#include "runtime/hub/parameter_arena.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <sys/resource.h>
#include <torch/nn/module.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <string>

#include "runtime/core/errors.h"
#include "tests/testing/error_of.h"

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

TEST(ParameterArenaTest, NoTensorsOrNoBytesIsNothingToDo) {
  EXPECT_NO_THROW(MoveToPopulatedArena({}, 4));
  // Empty tensors keep their own (empty) storage: no arena is mapped.
  at::Tensor empty = at::empty({0, 3});
  const c10::Storage before = empty.storage();
  MoveToPopulatedArena({empty}, 4);
  EXPECT_TRUE(empty.storage().is_alias_of(before));
  EXPECT_EQ(empty.sizes(), at::IntArrayRef({0, 3}));
}

// When the arena cannot be mapped (here: the address space is limited below
// its size), the error is modelhub's, with the size and the reason, and the
// tensors are untouched.
TEST(ParameterArenaTest, AnArenaThatCannotBeMappedIsAModelhubError) {
  at::Tensor big = at::empty({int64_t{256} << 20}, at::kByte);  // reserved, not touched
  const c10::Storage before = big.storage();
  rlimit old_limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_AS, &old_limit), 0);
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0;
  statm >> pages;
  rlimit limit = old_limit;
  limit.rlim_cur = pages * static_cast<size_t>(::sysconf(_SC_PAGESIZE)) + (size_t{64} << 20);
  ASSERT_EQ(::setrlimit(RLIMIT_AS, &limit), 0);
  const std::string error = testing::ErrorOf<Error>([&] { MoveToPopulatedArena({big}, 1); });
  ASSERT_EQ(::setrlimit(RLIMIT_AS, &old_limit), 0);
  EXPECT_EQ(error.rfind("cannot map a parameter arena of ", 0), 0u) << error;
  EXPECT_NE(error.find(" bytes: Cannot allocate memory"), std::string::npos) << error;
  EXPECT_TRUE(big.storage().is_alias_of(before));
}

}  // namespace
}  // namespace modelhub
