#include "runtime/assets/asset_card.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "runtime/assets/yaml_values.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;

// The scheme of `uri` ("hg" for "hg://x"), or "" when it has none. As Python's
// urlparse, which fairseq2 uses: the text before the first ':' when it starts
// with a letter and holds only letters, digits, '+', '-' and '.'.
std::string_view SchemeOf(std::string_view uri) {
  const size_t colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0) return "";
  if (!absl::ascii_isalpha(static_cast<unsigned char>(uri[0]))) return "";
  for (size_t i = 1; i < colon; ++i) {
    const char c = uri[i];
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '-' && c != '.') {
      return "";
    }
  }
  return uri.substr(0, colon);
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `text` with %XX escapes decoded; malformed escapes are kept as they are.
std::string PercentDecode(std::string_view text) {
  std::string output;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      const int high = HexValue(text[i + 1]);
      const int low = HexValue(text[i + 2]);
      if (high >= 0 && low >= 0) {
        output += static_cast<char>(high * 16 + low);
        i += 2;
        continue;
      }
    }
    output += text[i];
  }
  return output;
}

// `path` normalized and without a trailing slash ("a/./b/" -> "a/b"), as
// Python's Path(), which fairseq2 reads paths with, gives it.
std::string NormalPath(const fs::path& path) {
  std::string text = path.lexically_normal().string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  return text;
}

}  // namespace

AssetCard::AssetCard(std::string name, SourceMark mark, std::string source,
                     std::vector<AssetCardField> fields, std::shared_ptr<const AssetCard> base)
    : name_(std::move(name)),
      mark_(std::move(mark)),
      source_(std::move(source)),
      fields_(std::move(fields)),
      base_(std::move(base)) {}

const AssetCardField* AssetCard::own_field(std::string_view name) const {
  for (const AssetCardField& field : fields_) {
    if (field.name == name) return &field;
  }
  return nullptr;
}

const AssetCardField* AssetCard::find(std::string_view name) const {
  for (const AssetCard* card = this; card != nullptr; card = card->base()) {
    if (const AssetCardField* field = card->own_field(name)) return field;
  }
  return nullptr;
}

void AssetCard::Fail(const AssetCardField& field, const std::string& message) const {
  const std::string from =
      field.card == name_ ? "" : absl::StrCat(" (from base card '", field.card, "')");
  throw AssetCardError(
      name_, absl::StrCat(field.mark.ToString(), ": field '", field.name, "'", from, " ", message));
}

const AssetCardField& AssetCard::Require(std::string_view name) const {
  if (const AssetCardField* field = find(name)) return *field;
  throw AssetCardError(
      name_, absl::StrCat(mark_.ToString(), ": the card has no field '", std::string(name), "'",
                          base_ ? " and neither has any of its bases" : ""));
}

YAML::Node AssetCard::field(std::string_view name) const { return Require(name).value; }

SourceMark AssetCard::field_mark(std::string_view name) const { return Require(name).mark; }

std::optional<std::string> AssetCard::maybe_string(std::string_view name) const {
  const AssetCardField* field = find(name);
  if (field == nullptr) return std::nullopt;
  if (!IsYamlString(field->value)) {
    Fail(*field, absl::StrCat("must be a string, got ", DescribeYamlValue(field->value)));
  }
  return field->value.Scalar();
}

std::string AssetCard::string(std::string_view name) const {
  Require(name);
  return *maybe_string(name);
}

std::optional<bool> AssetCard::maybe_bool(std::string_view name) const {
  const AssetCardField* field = find(name);
  if (field == nullptr) return std::nullopt;
  std::optional<bool> value = YamlBoolean(field->value);
  if (!value) {
    Fail(*field, absl::StrCat("must be true or false, got ", DescribeYamlValue(field->value)));
  }
  return value;
}

std::string AssetCard::ResolvePath(std::string_view name) const {
  const AssetCardField* field = &Require(name);
  if (!IsYamlString(field->value)) {
    Fail(*field,
         absl::StrCat("must be a URI or a path (a string), got ", DescribeYamlValue(field->value)));
  }
  const std::string& text = field->value.Scalar();
  if (text.empty()) Fail(*field, "must be a URI or a path, got an empty string");
  const std::string_view scheme = SchemeOf(text);
  if (!scheme.empty() && absl::AsciiStrToLower(std::string(scheme)) != "file") return text;
  if (!scheme.empty()) {
    std::string_view rest = std::string_view(text).substr(scheme.size() + 1);
    if (rest.substr(0, 2) == "//") {  // an authority: only the local host
      rest.remove_prefix(2);
      const size_t slash = rest.find('/');
      const std::string_view host = rest.substr(0, slash);
      const bool local = host.empty() || host == "localhost";
      rest = local && slash != std::string_view::npos ? rest.substr(slash) : std::string_view();
    }
    if (rest.empty() || rest[0] != '/') {
      Fail(*field,
           absl::StrCat("must name a local absolute path as file:///path, got \"", text, "\""));
    }
    return NormalPath(PercentDecode(rest));
  }
  const fs::path path(text);
  if (path.is_absolute()) return NormalPath(path);
  return NormalPath(fs::path(field->dir) / path);
}

std::map<std::string, std::string> AssetCard::checkpoint_sha256() const {
  std::map<std::string, std::string> hashes;
  const AssetCardField* field = find("checkpoint_sha256");
  if (field == nullptr) return hashes;
  auto check = [&](const YAML::Node& value, const std::string& file) {
    std::string hex = IsYamlString(value) ? value.Scalar() : "";
    const bool valid = hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
                         return std::isxdigit(static_cast<unsigned char>(c)) != 0;
                       });
    if (!valid) {
      Fail(*field, absl::StrCat("must hold SHA-256 hashes (64 hex digits)",
                                file.empty() ? "" : absl::StrCat(" (file '", file, "')"), ", got ",
                                DescribeYamlValue(value)));
    }
    hashes[file] = absl::AsciiStrToLower(hex);
  };
  if (field->value.IsMap()) {
    for (const auto& entry : field->value) {
      if (!IsYamlString(entry.first)) {
        Fail(*field, "must map file names to hashes, got a key that is not a string");
      }
      check(entry.second, entry.first.Scalar());
    }
  } else {
    check(field->value, "");
  }
  return hashes;
}

std::optional<std::string> AssetCard::checkpoint_path() const {
  return path_inside("checkpoint_path");
}

std::optional<std::string> AssetCard::path_inside(std::string_view name) const {
  const AssetCardField* field = find(name);
  // What the path is inside: the checkpoint, or the tokenizer's download.
  const std::string what = name == "checkpoint_path" ? "checkpoint" : "tokenizer";
  if (field == nullptr) return std::nullopt;
  if (!IsYamlString(field->value)) {
    Fail(*field, absl::StrCat("must be a relative path inside the ", what, " (a string), got ",
                              DescribeYamlValue(field->value)));
  }
  const std::string& text = field->value.Scalar();
  const fs::path path(text);
  if (path.is_absolute() || path.has_root_path()) {
    Fail(*field, absl::StrCat("must be a relative path inside the downloaded ", what,
                              ", got "
                              "the absolute path \"",
                              text, "\""));
  }
  int depth = 0;
  for (const fs::path& part : path) {
    if (part == "..") {
      if (--depth < 0) {
        Fail(*field, absl::StrCat("must stay inside the downloaded ", what, ", but \"", text,
                                  "\" climbs out of it with '..'"));
      }
    } else if (part != "." && !part.empty()) {
      ++depth;
    }
  }
  std::string normal = NormalPath(path);
  return normal.empty() ? "." : normal;
}

std::vector<ConfigOverride> AssetCard::model_config_overrides() const {
  return config_overrides(kModelConfigFields);
}

std::vector<ConfigOverride> AssetCard::tokenizer_config_overrides() const {
  return config_overrides(kTokenizerConfigFields);
}

std::vector<ConfigOverride> AssetCard::config_overrides(const char* const (&fields)[3]) const {
  for (const char* key : fields) {
    std::vector<const AssetCardField*> found;  // leaf first
    for (const AssetCard* card = this; card != nullptr; card = card->base()) {
      const AssetCardField* field = card->own_field(key);
      if (field != nullptr && KindOfYaml(field->value) != YamlValueKind::kNull) {
        found.push_back(field);
      }
    }
    if (found.empty()) continue;
    // Built in place, root first: assigning (or swapping) a YAML::Node would
    // rebind the card's own node.
    std::vector<ConfigOverride> overrides;
    overrides.reserve(found.size());
    for (auto it = found.rbegin(); it != found.rend(); ++it) {
      overrides.push_back(
          ConfigOverride{(*it)->value, OverrideOrigin{(*it)->card, key, (*it)->mark}});
    }
    return overrides;
  }
  return {};
}

bool IsRemoteUri(std::string_view uri) {
  const std::string_view scheme = SchemeOf(uri);
  return !scheme.empty() && absl::AsciiStrToLower(std::string(scheme)) != "file";
}

}  // namespace modelhub
