#ifndef MODELHUB_CODEGEN_SPEC_H_
#define MODELHUB_CODEGEN_SPEC_H_

// Typed records of a family spec (specs/<family>.yaml), produced by ParseSpec()
// once every key has been checked. Each record keeps where it came from so that
// later checks can still point at the spec's line and column.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/source_mark.h"

namespace modelhub::codegen {

// The types a config field may have.
enum class FieldType {
  kInt,            // int64_t
  kFloat,          // double
  kBool,           // bool
  kString,         // std::string
  kOptionalInt,    // std::optional<int64_t>; YAML null is "unset"
  kOptionalFloat,  // std::optional<double>
  kFloatArray,     // std::array<double, N>; std::vector<double> when N is 0 ("float[]")
  kStruct,         // a nested config struct
};

// A literal value from a spec (a default, an arch setting, a decoder constant).
struct Literal {
  enum class Kind { kNull, kInt, kFloat, kBool, kString, kFloatList };
  Kind kind = Kind::kNull;
  int64_t int_value = 0;
  double float_value = 0;
  bool bool_value = false;
  std::string string_value;
  std::vector<double> floats;
};

struct StructSpec;

// One constraint on a field; checked by the generated Validate().
struct Constraint {
  enum class Kind { kMin, kMax, kDivisibleBy };
  Kind kind = Kind::kMin;
  Literal bound;            // kMin / kMax
  std::string other_field;  // kDivisibleBy: a sibling int field
  SourceMark mark;
};

struct FieldSpec {
  std::string name;
  FieldType type = FieldType::kInt;
  size_t array_size = 0;               // kFloatArray; 0: any length
  std::shared_ptr<StructSpec> nested;  // kStruct
  Literal default_value;               // not used for kStruct
  std::string doc;
  std::vector<Constraint> constraints;
  // kString only: the values the field may take (fairseq2's Literal[...]);
  // empty when any string is fine.
  std::vector<std::string> choices;
  SourceMark mark;
};

struct StructSpec {
  std::string cpp_name;  // e.g. "QwenConfig"
  std::string doc;
  std::vector<FieldSpec> fields;
  SourceMark mark;

  const FieldSpec* FindField(const std::string& name) const;
};

// One assignment of an arch preset: `path` = field path from the config root.
struct ArchSetting {
  std::vector<std::string> path;
  Literal value;
  FieldType type = FieldType::kInt;  // the field's type, resolved by the parser
  size_t array_size = 0;             // kFloatArray: the field's (0: any length)
  SourceMark mark;
};

struct ArchSpec {
  std::string name;
  std::string base;  // "" when the arch starts from the struct defaults
  SourceMark base_mark;
  std::vector<std::string> aliases;
  std::string doc;
  std::vector<ArchSetting> settings;
  int64_t params = 0;  // the published parameter count; 0 when not given
  SourceMark mark;
};

// A value in the `decoder` section: a reference to a config field
// ("$rope_scale.frequency_factors[0]") or a literal.
struct DecoderValue {
  bool is_reference = false;
  std::vector<std::string> path;                // reference: field path
  std::optional<size_t> index;                  // reference into a float array
  FieldType referenced_type = FieldType::kInt;  // type of what the reference yields
  Literal literal;
  bool is_float = false;  // the blueprint parameter is a double
  SourceMark mark;
};

// The `decoder` section: how the family's config drives the shared decoder's
// standard blocks. Keys are blueprint paths ("attention.num_heads").
struct DecoderSpec {
  std::map<std::string, DecoderValue> values;
  std::string attention_kind;     // "gqa"
  std::string rope_layout;        // "rotate_half" | "interleaved"
  std::string rope_scaling_kind;  // "none" | "llama3" | "longrope"
  SourceMark mark;
};

struct KeyRuleSpec {
  std::string from;
  std::string to;  // "" when dropped
  bool dropped = false;
  std::string rope;    // "" | "query" | "key"
  int split_dim = -1;  // a part of a fused tensor: the dimension it is split along
  SourceMark mark;     // of the source pattern
  SourceMark to_mark;  // of the target pattern (unset when dropped)
};

// A checkpoint format's key map (e.g. "hf", "meta").
struct KeyFormatSpec {
  std::string name;
  std::string rope_layout;  // layout of q/k rows in this format's checkpoints
  std::vector<KeyRuleSpec> rules;
  SourceMark mark;
};

// How one config field is set from a Hugging Face config.json.
struct HfConfigRuleSpec {
  enum class Kind {
    kKey,      // the value of a JSON key
    kPresent,  // a bool: whether a JSON key is present and not null
    kLiteral,  // a constant (the spec's value for what config.json leaves implicit)
    kKeyList,  // a float array: one JSON key per element
  };
  std::vector<std::string> field;  // config field path
  FieldType type = FieldType::kInt;
  Kind kind = Kind::kKey;
  std::vector<std::string> keys;  // JSON key paths ("rope_scaling.factor")
  Literal literal;                // kLiteral
  SourceMark mark;
};

// A config.json key whose value the family cannot represent otherwise: loading
// fails unless it is absent or equals `value`.
struct HfRequirementSpec {
  std::string key;
  std::string value;  // a YAML scalar: a number, true/false or a string
  SourceMark mark;
};

// One config.json `model_type` the family reads and writes.
struct HfModelTypeSpec {
  std::string model_type;    // e.g. "qwen3"
  std::string arch;          // the preset that fields config.json leaves unset come from
  std::string architecture;  // the transformers class config.json's "architectures" names
  SourceMark mark;
};

// The `hugging_face` section: which config.json `model_type`s the family reads
// (each starting from an arch preset, each with its transformers class) and how
// their keys set config fields.
struct HuggingFaceSpec {
  std::vector<HfModelTypeSpec> model_types;  // in spec order
  std::vector<HfConfigRuleSpec> rules;
  std::vector<HfRequirementSpec> requirements;
  SourceMark mark;
};

struct FamilySpec {
  std::string file;    // the spec's path as given to codegen
  std::string family;  // e.g. "qwen"
  SourceMark family_mark;
  std::string doc;
  std::shared_ptr<StructSpec> config;
  std::vector<ArchSpec> archs;  // in spec order
  DecoderSpec decoder;
  std::vector<KeyFormatSpec> checkpoint_formats;
  std::optional<HuggingFaceSpec> hugging_face;
};

}  // namespace modelhub::codegen

#endif  // MODELHUB_CODEGEN_SPEC_H_
