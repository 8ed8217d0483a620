#ifndef MODELHUB_RUNTIME_HUB_HF_CONFIG_H_
#define MODELHUB_RUNTIME_HUB_HF_CONFIG_H_

// Reading a Hugging Face config.json into a family's typed config, driven by the
// `hugging_face` section of the family's spec (ModelFamily::hf_config()).

#include <memory>
#include <string>

#include "runtime/hub/model_family.h"

namespace modelhub {

// A config read from a config.json: the family that reads its model_type, the
// arch preset it started from, and the config with config.json's values applied.
struct HfModelConfig {
  const ModelFamily* family = nullptr;
  std::string model_type;
  std::string arch;
  std::unique_ptr<AnyConfig> config;
};

// Reads the config.json at `path`. The family is the registered one whose spec
// lists the file's model_type; its preset is overridden key by key (absent keys
// keep the preset's value) and the result validated. Every failure (unreadable
// file, invalid JSON with its byte offset, unknown model_type, a value of the
// wrong type, a key with a value the family cannot represent, a config that does
// not validate) is a CorruptModelCheckpointError naming the file and the key.
HfModelConfig ReadHfConfig(const std::string& path);

// The same from JSON text; `path` is only used in messages.
HfModelConfig ParseHfConfig(const std::string& json_text, const std::string& path);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_HUB_HF_CONFIG_H_
