#ifndef MODELHUB_CODEGEN_CPP_EMITTER_H_
#define MODELHUB_CODEGEN_CPP_EMITTER_H_

#include <string>
#include <vector>

#include "codegen/spec.h"

namespace modelhub::codegen {

struct GeneratedFile {
  std::string name;  // file name, e.g. "qwen_config.h"
  std::string content;
};

// The C++ a family spec compiles to, for the Bazel package `include_prefix`
// (e.g. "families/qwen"):
//   <family>_config.h/.cc  the config structs, their ConfigTraits (YAML read and
//                          write, validation, equality, printing) and the
//                          decoder blueprint binding; no LibTorch;
//   <family>.h/.cc         arch presets, key-map tables, the family's
//                          registration and its get_<family>_model_hub().
// The output depends only on the spec, so it can be pinned by golden tests.
std::vector<GeneratedFile> EmitFamily(const FamilySpec& spec, const std::string& include_prefix);

}  // namespace modelhub::codegen

#endif  // MODELHUB_CODEGEN_CPP_EMITTER_H_
