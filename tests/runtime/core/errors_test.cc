#include "runtime/core/errors.h"

#include <gtest/gtest.h>

namespace modelhub {
namespace {

TEST(ErrorsTest, CarryTheirFieldsAndOneLineMessages) {
  ModelArchitectureNotKnownError arch("qwen9", "qwen", {"qwen3_8b"});
  EXPECT_EQ(arch.arch(), "qwen9");
  EXPECT_EQ(arch.family(), "qwen");
  EXPECT_STREQ(arch.what(),
               "'qwen9' is not a known architecture of the 'qwen' model family (did you mean: "
               "qwen3_8b)");

  ModelFamilyNotKnownError family("gpt", {"llama", "qwen"});
  EXPECT_EQ(family.name(), "gpt");
  EXPECT_STREQ(family.what(),
               "model family 'gpt' is not known (families linked into this program: llama, "
               "qwen); a program links a family by depending on its Bazel target, "
               "@modelhub//families/<name>, or on @modelhub//families:all");

  ConfigError config("QwenConfig", "rope_theta", SourceMark{"card.yaml", 3, 5}, "bad");
  EXPECT_STREQ(config.what(), "card.yaml:3:5: QwenConfig field 'rope_theta': bad");
  EXPECT_EQ(config.mark().line, 3);

  ModelGatedError gated("llama3_8b", "https://ai.meta.com/llama");
  EXPECT_EQ(gated.url(), "https://ai.meta.com/llama");
  EXPECT_STREQ(gated.what(),
               "model 'llama3_8b' is gated: its card names no checkpoint; request access at "
               "https://ai.meta.com/llama");
  EXPECT_EQ(ModelNotKnownError("qwen9").name(), "qwen9");
  EXPECT_STREQ(ModelNotKnownError("qwen9", "no built-in cards").what(),
               "no model is named 'qwen9' (see 'modelhub list'); no built-in cards");
  EXPECT_STREQ(AssetCardError("x", "cards/x.yaml:4: 'base' names no card").what(),
               "asset card 'x': cards/x.yaml:4: 'base' names no card");
  EXPECT_EQ(AssetNotFoundError("tiny").name(), "tiny");
  EXPECT_STREQ(AssetDownloadError("hg://qwen/x", "HTTP 404").what(),
               "cannot download hg://qwen/x: HTTP 404");
  CorruptModelCheckpointError corrupt("/m/model.safetensors", "tensor 'w' ends past the file");
  EXPECT_EQ(corrupt.path(), "/m/model.safetensors");
  EXPECT_STREQ(corrupt.what(),
               "/m/model.safetensors: corrupt model checkpoint: tensor 'w' ends past the file");
  EXPECT_EQ(corrupt.reason(), "tensor 'w' ends past the file");
  CheckpointSaveError save("/out/tiny", "it exists and is not an empty folder");
  EXPECT_EQ(save.path(), "/out/tiny");
  EXPECT_STREQ(save.what(),
               "cannot save a checkpoint to /out/tiny: it exists and is not an empty folder");

  TorchError torch("running", "shape mismatch\n(backtrace follows)");
  EXPECT_STREQ(torch.what(), "running: shape mismatch");
}

}  // namespace
}  // namespace modelhub
