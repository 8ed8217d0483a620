#ifndef MODELHUB_TESTS_TESTING_SMALL_MODELS_H_
#define MODELHUB_TESTS_TESTING_SMALL_MODELS_H_

// Small models of any family's preset shapes, and their checkpoints in any of
// the family's formats: for the conformance kit and the tensor-parallel tests.

#include <ATen/ATen.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "runtime/blueprint/decoder_blueprint.h"
#include "runtime/hub/model_family.h"
#include "runtime/mapping/key_map.h"
#include "runtime/models/decoder_model.h"

namespace modelhub::testing {

// The preset's blueprint with small sizes (4 heads, 2 KV heads where grouped,
// model_dim 64, vocabulary and FFN 96) and everything else kept: its optional
// parameters, RoPE layout and scaling, window, tying.
DecoderBlueprint Shrunk(DecoderBlueprint b);

// A config that is a bare blueprint, for building and loading models of
// shapes no preset has.
class BlueprintConfig final : public AnyConfig {
 public:
  explicit BlueprintConfig(DecoderBlueprint blueprint) : blueprint_(std::move(blueprint)) {}
  const char* type_name() const override { return "BlueprintConfig"; }
  void Merge(const YAML::Node&, const YamlContext&) override {
    throw std::logic_error("a BlueprintConfig takes no overrides");
  }
  YAML::Node ToYaml() const override { return YAML::Node(YAML::NodeType::Map); }
  void Validate() const override { blueprint_.Validate(); }
  DecoderBlueprint ToBlueprint() const override { return blueprint_; }
  std::unique_ptr<AnyConfig> NewDefault() const override {
    return std::make_unique<BlueprintConfig>(blueprint_);
  }

 private:
  DecoderBlueprint blueprint_;
};

// The model's parameters named as `map` stores them, with q/k rows in its RoPE
// layout, the parts of a fused tensor concatenated; checks (gtest failures
// naming `what`) that each has exactly one source key, which maps back to it.
std::vector<std::pair<std::string, at::Tensor>> Exported(const DecoderModel& model,
                                                         const KeyMap& map,
                                                         const std::string& what);

}  // namespace modelhub::testing

#endif  // MODELHUB_TESTS_TESTING_SMALL_MODELS_H_
