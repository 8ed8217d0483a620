#include "tests/testing/tiny_model.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace modelhub::testing {

void IsolateFromMachine() {
  const std::string empty = ::testing::TempDir() + "/no-cards";
  setenv("MODELHUB_ASSET_DIR", empty.c_str(), 1);
  setenv("MODELHUB_USER_ASSET_DIR", empty.c_str(), 1);
  const std::string caches = ::testing::TempDir() + "/caches";
  setenv("HF_HOME", (caches + "/huggingface").c_str(), 1);
  setenv("HF_HUB_CACHE", (caches + "/huggingface/hub").c_str(), 1);
  setenv("MODELHUB_CACHE_DIR", (caches + "/modelhub").c_str(), 1);
  setenv("HF_HUB_OFFLINE", "1", 1);
  unsetenv("HF_TOKEN");
  unsetenv("HF_ENDPOINT");
}

std::filesystem::path FreshDir(const std::string& name) {
  std::filesystem::path dir = std::filesystem::path(::testing::TempDir()) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

at::Tensor FixedLogits(const DecoderModel& model) {
  c10::InferenceMode inference;
  std::vector<int64_t> ids = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8};
  return model.forward(at::tensor(ids, at::TensorOptions().dtype(at::kLong)).unsqueeze(0));
}

}  // namespace modelhub::testing
