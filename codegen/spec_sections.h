#ifndef MODELHUB_CODEGEN_SPEC_SECTIONS_H_
#define MODELHUB_CODEGEN_SPEC_SECTIONS_H_

// The spec compiler's parser, shared by the files that each read one section
// of a spec, as torchgen keeps its model, API and destination code apart:
// spec_parser.cc (the file, its top level and shared checks), config_section.cc
// (`config:` schema and values), archs_section.cc, decoder_section.cc,
// checkpoints_section.cc (key maps, imports, the parameter checks) and
// hugging_face_section.cc. Private to //codegen:spec_parser.

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "codegen/spec.h"
#include "codegen/spec_error.h"
#include "codegen/spec_parser.h"
#include "runtime/assets/yaml_values.h"
#include "runtime/blueprint/decoder_blueprint.h"
#include "runtime/blueprint/decoder_parameters.h"
#include "runtime/config/yaml_fields.h"
#include "runtime/core/closest_names.h"
#include "runtime/mapping/key_pattern.h"

namespace modelhub::codegen::sections {

namespace fs = std::filesystem;

bool IsDigit(char c);

// " (did you mean x?)" for a field name `name` that `schema` lacks, or the
// schema's fields when none is close.
std::string FieldHint(const std::string& name, const StructSpec& schema);

// Whether `doc` can be a one-line C++ comment: no line breaks, no trailing backslash.
bool IsOneLineDoc(const std::string& doc);

class Parser {
 public:
  Parser(std::string file, SpecFileReader read) : file_(std::move(file)), read_(std::move(read)) {}

  FamilySpec Parse(const std::string& text);

 private:
  // The one YAML document of the spec file `text` (file_), or a null node when
  // it holds none. Throws SpecError for invalid YAML or a second document.
  YAML::Node LoadSpecDocument(const std::string& text) const;

  // Strict view of one YAML map of the spec: duplicates are rejected up front,
  // every key must be asked for, and Finish() rejects the rest.
  class Map {
   public:
    Map(Parser& parser, const YAML::Node& node, std::string what, std::string item = "key")
        : parser_(parser), node_(node), what_(std::move(what)) {
      if (!node.IsMap()) {
        parser.Fail(node, absl::StrCat(what_, " must be a map, not ", DescribeYaml(node)));
      }
      for (auto it = node.begin(); it != node.end(); ++it) {
        const std::string key = it->first.Scalar();
        for (const auto& entry : entries_) {
          if (entry.first.Scalar() == key) {
            parser.Fail(it->first,
                        absl::StrCat("duplicate ", item, " '", key, "' in ", what_,
                                     " (first at line ", entry.first.Mark().line + 1, ")"));
          }
        }
        entries_.emplace_back(it->first, it->second);
      }
      used_.assign(entries_.size(), false);
    }

    const std::vector<std::pair<YAML::Node, YAML::Node>>& entries() {
      used_.assign(entries_.size(), true);
      return entries_;
    }

    std::optional<YAML::Node> Optional(const std::string& key) {
      asked_.push_back(key);
      for (size_t i = 0; i < entries_.size(); ++i) {
        if (entries_[i].first.Scalar() == key) {
          used_[i] = true;
          return entries_[i].second;
        }
      }
      return std::nullopt;
    }

    YAML::Node Required(const std::string& key) {
      std::optional<YAML::Node> node = Optional(key);
      if (!node) parser_.Fail(node_, absl::StrCat(what_, " needs '", key, "'"));
      return *node;
    }

    void Finish() const {
      for (size_t i = 0; i < entries_.size(); ++i) {
        if (!used_[i]) {
          parser_.Fail(entries_[i].first,
                       absl::StrCat("unknown key '", entries_[i].first.Scalar(), "' in ", what_,
                                    " (expected one of: ", absl::StrJoin(asked_, ", "), ")"));
        }
      }
    }

   private:
    Parser& parser_;
    YAML::Node node_;
    std::string what_;
    std::vector<std::pair<YAML::Node, YAML::Node>> entries_;
    std::vector<bool> used_;
    std::vector<std::string> asked_;
  };

  SourceMark MarkOf(const YAML::Node& node) const {
    YAML::Mark mark = node.Mark();
    if (mark.is_null()) return SourceMark{file_, 0, 0};
    return SourceMark{file_, mark.line + 1, mark.column + 1};
  }

  [[noreturn]] void Fail(const YAML::Node& node, const std::string& message) const {
    throw SpecError(MarkOf(node), message);
  }

  std::string String(const YAML::Node& node, const std::string& what) const {
    if (!node.IsScalar() || IsYamlNull(node)) {
      Fail(node, absl::StrCat(what, " must be a string, not ", DescribeYaml(node)));
    }
    return node.Scalar();
  }

  std::string Doc(const YAML::Node& node) const {
    std::string doc = String(node, "doc");
    if (!IsOneLineDoc(doc)) Fail(node, "doc must be one line, not ending in a backslash");
    return doc;
  }

  std::string Enum(const YAML::Node& node, const std::string& what,
                   const std::vector<std::string>& allowed) const {
    std::string value = String(node, what);
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
      Fail(node, absl::StrCat("unknown ", what, " '", value,
                              "' (known: ", absl::StrJoin(allowed, ", "), ")"));
    }
    return value;
  }

  FieldType ParseType(const YAML::Node& node, size_t* array_size) const;
  Literal ParseLiteral(const YAML::Node& node, FieldType type, size_t array_size,
                       const std::string& what) const;
  // Fails at `node` when `field` has choices and `value` is not one of them.
  void CheckChoice(const FieldSpec& field, const Literal& value, const YAML::Node& node,
                   const std::string& what) const;
  std::shared_ptr<StructSpec> ParseStruct(const YAML::Node& name, const YAML::Node& doc,
                                          const YAML::Node& fields, const std::string& what);
  FieldSpec ParseField(const YAML::Node& key, const YAML::Node& node, const std::string& owner);
  void ParseArchs(const YAML::Node& node, FamilySpec& spec);
  // Calls `leaf` for each field a partial config map sets (nested structs
  // walked), with its path from the config root; unknown fields fail. `what`
  // names the map in errors ("settings", "hugging_face config").
  void ForEachField(
      const YAML::Node& node, const StructSpec& schema, const std::vector<std::string>& prefix,
      const std::string& what,
      const std::function<void(const std::vector<std::string>& path, const FieldSpec& field,
                               const YAML::Node& value)>& leaf);
  void ParseSettings(const YAML::Node& node, const StructSpec& schema,
                     std::vector<ArchSetting>& out);
  void CheckArchBases(const FamilySpec& spec, const std::map<std::string, SourceMark>& names);
  void ParseDecoder(const YAML::Node& node, FamilySpec& spec);
  // One `checkpoints:` section and the spec file it is written in.
  struct CheckpointSection {
    YAML::Node node;
    std::string file;
  };
  // What the rules of one checkpoint format have claimed so far, across the
  // sections that add to it.
  struct KeyFormatState {
    size_t index = 0;                           // in FamilySpec::checkpoint_formats
    SourceMark layout_mark;                     // where its rope_layout was first given
    std::map<std::string, SourceMark> sources;  // by pattern shape, for duplicates
    std::map<std::string, SourceMark> targets;
  };
  // "line N" for a position in the file being read, "FILE:N" for another.
  std::string Where(const SourceMark& mark) const;
  // The sections `node` imports (depth first, each before the section that
  // imports it), then `node` itself; `chain` is the import path, for cycles.
  void CollectCheckpointSections(const YAML::Node& node, std::vector<std::string>& chain,
                                 std::vector<CheckpointSection>& sections);
  void ParseCheckpoints(const YAML::Node& node, FamilySpec& spec);
  void ParseKeyRules(const YAML::Node& keys_node, const std::string& what, bool converts,
                     KeyFormatState& state, KeyFormatSpec& format);
  void ParseHuggingFace(const YAML::Node& node, FamilySpec& spec);
  // Fills in each model type's transformers class from `architectures`.
  void ParseHfArchitectures(const YAML::Node& node, HuggingFaceSpec& hf);
  HfConfigRuleSpec ParseHfRule(const std::vector<std::string>& path, const FieldSpec& field,
                               const YAML::Node& value);
  std::string JsonKey(const YAML::Node& node) const;
  // A parameter the decoder may create, as the key-map checks see it.
  struct ModelParameter {
    std::string name;  // "decoder.layers.{i}.ffn.gate_proj.weight"
    ParsedKeyPattern pattern;
    std::string shape;         // ShapeOf(pattern), for "did you mean"
    std::string exists_when;   // "" when always, else "<setting> is <true|false>"
    std::string ruled_out_by;  // "" when some config creates it, else why none does
  };
  // The parameters of DecoderParameterList, as the spec's decoder section decides them.
  static std::vector<ModelParameter> ListParameters(const DecoderSpec& decoder);
  // Every key-map target names a parameter the decoder can create, and every
  // such parameter has a source in each checkpoint format.
  void CheckKeyMapsNameParameters(const FamilySpec& spec) const;

  std::string file_;  // the file being read, for positions: the spec or one it imports
  SpecFileReader read_;
  std::string family_;
  std::set<std::string> struct_names_;
};

}  // namespace modelhub::codegen::sections

#endif  // MODELHUB_CODEGEN_SPEC_SECTIONS_H_
