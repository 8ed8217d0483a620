#include "runtime/hub/model_hub.h"

#include <c10/core/DefaultDtype.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include "families/qwen/qwen.h"
#include "runtime/core/errors.h"
#include "runtime/hub/model_family_registry.h"
#include "tests/testing/error_of.h"

namespace modelhub {
namespace {

QwenConfig Tiny() {
  QwenConfig config = get_qwen_model_hub().get_arch_config("qwen25_0.5b");
  config.model_dim = 32;
  config.num_layers = 1;
  config.num_attn_heads = 4;
  config.num_key_value_heads = 2;
  config.ffn_inner_dim = 64;
  config.vocab_size = 64;
  return config;
}

TEST(ModelHubTest, UnknownArchsNameTheFamilyAndTheClosestArchs) {
  QwenModelHub hub = get_qwen_model_hub();
  try {
    hub.get_arch_config("qwen25_7");
    FAIL() << "no error";
  } catch (const ModelArchitectureNotKnownError& e) {
    EXPECT_EQ(e.arch(), "qwen25_7");
    EXPECT_EQ(e.family(), "qwen");
    EXPECT_STREQ(e.what(),
                 "'qwen25_7' is not a known architecture of the 'qwen' model family (did you "
                 "mean: qwen25_7b, qwen25_3b, qwen25_72b)");
  }
  EXPECT_FALSE(hub.maybe_get_arch_config("qwen25_7").has_value());
  EXPECT_TRUE(hub.maybe_get_arch_config("qwen25_7b").has_value());
}

TEST(ModelHubTest, UnknownFamiliesListTheKnownOnes) {
  try {
    GetModelFamily("gpt2");
    FAIL() << "no error";
  } catch (const ModelFamilyNotKnownError& e) {
    EXPECT_EQ(e.name(), "gpt2");
    EXPECT_STREQ(e.what(),
                 "model family 'gpt2' is not known (families linked into this program: qwen); a "
                 "program links a family by depending on its Bazel target, "
                 "@modelhub//families/<name>, or on @modelhub//families:all");
  }
  EXPECT_EQ(MaybeGetModelFamily("gpt2"), nullptr);
  EXPECT_EQ(&GetModelFamily("qwen"), &get_qwen_model_hub().family());
  EXPECT_EQ(get_qwen_model_hub().family_name(), "qwen");
}

TEST(ModelHubTest, CreateNewModelHonoursDeviceDtypeAndMeta) {
  QwenModelHub hub = get_qwen_model_hub();
  auto model = hub.create_new_model(Tiny());
  EXPECT_EQ(model->options().dtype, c10::typeMetaToScalarType(c10::get_default_dtype()));
  EXPECT_EQ(model->options().device, c10::Device(c10::kCPU));
  EXPECT_FALSE(model->named_parameters()["decoder_frontend.embed.weight"].is_meta());

  auto half = hub.create_new_model(Tiny(), ModelPlacement{c10::Device(c10::kCPU), c10::kBFloat16});
  EXPECT_EQ(half->named_parameters()["decoder.layer_norm.weight"].scalar_type(), c10::kBFloat16);

  ModelPlacement meta_bfloat16 = ModelPlacement::Meta();
  meta_bfloat16.dtype = c10::kBFloat16;
  auto meta = hub.create_new_model(hub.get_arch_config("qwen25_72b"), meta_bfloat16);
  EXPECT_TRUE(meta->named_parameters()["decoder.layer_norm.weight"].is_meta());
  EXPECT_EQ(meta->num_parameters(), 72706203648);
}

TEST(ModelHubTest, CreateNewModelValidatesTheConfig) {
  QwenConfig config = Tiny();
  config.num_key_value_heads = 3;
  try {
    get_qwen_model_hub().create_new_model(config);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.config(), "QwenConfig");
    EXPECT_EQ(e.field(), "num_attn_heads");
  }
  config = Tiny();
  config.head_dim = 0;
  EXPECT_THROW(get_qwen_model_hub().create_new_model(config), ConfigError);
}

// A config too large for this machine is refused from its sizes, before any
// allocation (the 2^31 layers would take days and terabytes otherwise).
TEST(ModelHubTest, CreateNewModelRefusesModelsLargerThanMemory) {
  QwenModelHub hub = get_qwen_model_hub();
  QwenConfig config = hub.get_arch_config("qwen25_0.5b");
  config.num_layers = int64_t{1} << 31;
  const std::string error = testing::ErrorOf<ConfigError>([&] { hub.create_new_model(config); });
  EXPECT_EQ(error.rfind("qwen decoder: a model of model_dim 896, num_layers 2147483648, "
                        "vocab_size 151936 and FFN inner dim 4864 has ",
                        0),
            0u)
      << error;
  EXPECT_NE(error.find("of memory (RAM and swap) of this machine"), std::string::npos) << error;
  const std::string meta =
      testing::ErrorOf<ConfigError>([&] { hub.create_new_model(config, ModelPlacement::Meta()); });
  EXPECT_NE(meta.find("whose bookkeeping alone takes"), std::string::npos) << meta;
}

TEST(ModelHubTest, ConfigsPrintOnOneLine) {
  std::ostringstream out;
  out << Tiny();
  EXPECT_EQ(out.str(),
            "QwenConfig{model_dim: 32, max_seq_len: 32768, vocab_size: 64, tied_embeddings: true, "
            "num_layers: 1, num_attn_heads: 4, num_key_value_heads: 2, head_dim: ~, "
            "qkv_proj_bias: true, q_norm: false, k_norm: false, ffn_inner_dim: 64, rope_theta: "
            "1000000.0, norm_eps: 1e-06, dropout_p: 0.0}");
  EXPECT_NE(Tiny(), get_qwen_model_hub().get_arch_config("qwen25_0.5b"));
}

}  // namespace
}  // namespace modelhub
