#include "codegen/spec_parser.h"

#include "codegen/spec_sections.h"

namespace modelhub::codegen {
namespace sections {

bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

std::string FieldHint(const std::string& name, const StructSpec& schema) {
  std::vector<std::string> fields;
  for (const FieldSpec& field : schema.fields) fields.push_back(field.name);
  std::vector<std::string> close = ClosestNames(name, fields);
  return close.empty() ? absl::StrCat(" (its fields: ", absl::StrJoin(fields, ", "), ")")
                       : absl::StrCat(" (did you mean ", absl::StrJoin(close, ", "), "?)");
}

bool IsOneLineDoc(const std::string& doc) {
  return doc.find_first_of("\r\n") == std::string::npos && (doc.empty() || doc.back() != '\\');
}

YAML::Node Parser::LoadSpecDocument(const std::string& text) const {
  std::vector<YAML::Node> documents;
  try {
    documents = LoadYamlDocuments(text);
  } catch (const YAML::ParserException& e) {
    throw SpecError(SourceMark{file_, e.mark.line + 1, e.mark.column + 1},
                    absl::StrCat("invalid YAML: ", e.msg));
  }
  if (documents.size() > 1) {
    throw SpecError(MarkOf(documents[1]),
                    "a spec is one YAML document; this file holds a second one here");
  }
  return documents.empty() ? YAML::Node() : documents[0];
}

FamilySpec Parser::Parse(const std::string& text) {
  const YAML::Node root = LoadSpecDocument(text);
  if (!root.IsMap()) throw SpecError(SourceMark{file_, 1, 1}, "a spec must be a YAML map");
  FamilySpec spec;
  spec.file = file_;
  Map map(*this, root, "the spec");
  const YAML::Node family = map.Required("family");
  spec.family = String(family, "family");
  spec.family_mark = MarkOf(family);
  family_ = spec.family;
  if (!IsIdentifier(spec.family) || std::any_of(spec.family.begin(), spec.family.end(), [](char c) {
        return std::isupper(static_cast<unsigned char>(c));
      })) {
    Fail(family, absl::StrCat("family name '", spec.family, "' must be a lower-case identifier"));
  }
  spec.doc = Doc(map.Required("doc"));
  {
    Map config(*this, map.Required("config"), "config");
    spec.config = ParseStruct(config.Required("name"), config.Required("doc"),
                              config.Required("fields"), "config");
    config.Finish();
  }
  ParseArchs(map.Required("archs"), spec);
  ParseDecoder(map.Required("decoder"), spec);
  if (auto checkpoints = map.Optional("checkpoints")) ParseCheckpoints(*checkpoints, spec);
  if (auto hugging_face = map.Optional("hugging_face")) ParseHuggingFace(*hugging_face, spec);
  map.Finish();
  CheckKeyMapsNameParameters(spec);  // last: every error of the sections comes first
  return spec;
}

}  // namespace sections

const FieldSpec* StructSpec::FindField(const std::string& name) const {
  for (const FieldSpec& field : fields) {
    if (field.name == name) return &field;
  }
  return nullptr;
}

FamilySpec ParseSpec(const std::string& text, const std::string& file, const SpecFileReader& read) {
  return sections::Parser(file, read).Parse(text);
}

}  // namespace modelhub::codegen
