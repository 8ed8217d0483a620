#include "runtime/assets/yaml_values.h"

#include <yaml-cpp/eventhandler.h>

#include <sstream>
#include <string_view>
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace modelhub {
namespace {

// ruamel.yaml's implicit resolvers for YAML 1.2 (resolver.py), which fairseq2's
// YAML loader uses, written out by hand: std::regex recurses once per character
// and overflows the stack on long scalars.

// Reads the text of one scalar from the front.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : text_(text) {}

  bool AtEnd() const { return pos_ == text_.size(); }
  // Consumes `c` when it comes next.
  bool Take(char c) {
    if (AtEnd() || text_[pos_] != c) return false;
    ++pos_;
    return true;
  }
  // Consumes one of `chars` when it comes next.
  bool TakeAny(std::string_view chars) {
    if (AtEnd() || chars.find(text_[pos_]) == std::string_view::npos) return false;
    ++pos_;
    return true;
  }
  // Consumes `word` when it comes next.
  bool TakeWord(std::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }
  // Consumes the longest run of `chars`; returns its length.
  size_t TakeRun(std::string_view chars) {
    const size_t start = pos_;
    while (TakeAny(chars)) {
    }
    return pos_ - start;
  }
  // Consumes [0-9]{min,max}; false (and nothing consumed) when fewer come.
  bool TakeDigits(size_t min, size_t max) {
    size_t count = 0;
    while (count < max && pos_ + count < text_.size() &&
           absl::ascii_isdigit(static_cast<unsigned char>(text_[pos_ + count]))) {
      ++count;
    }
    if (count < min) return false;
    pos_ += count;
    return true;
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

constexpr std::string_view kDigits = "0123456789";
constexpr std::string_view kSigns = "-+";

bool IsBoolText(std::string_view text) {
  for (std::string_view word : {"true", "True", "TRUE", "false", "False", "FALSE"}) {
    if (text == word) return true;
  }
  return false;
}

bool IsNullText(std::string_view text) {
  return text.empty() || text == "~" || text == "null" || text == "Null" || text == "NULL";
}

// [-+]?0b[0-1_]+ | [-+]?0o?[0-7_]+ | [-+]?[0-9_]+ | [-+]?0x[0-9a-fA-F_]+
bool IsIntText(std::string_view text) {
  auto whole = [&](std::string_view prefix, std::string_view digits) {
    Cursor cursor(text);
    cursor.TakeAny(kSigns);
    return cursor.TakeWord(prefix) && cursor.TakeRun(digits) > 0 && cursor.AtEnd();
  };
  return whole("0b", "01_") || whole("0o", "01234567_") || whole("", "0123456789_") ||
         whole("0x", "0123456789abcdefABCDEF_");
}

// [-+]?[0-9][0-9_]*\.[0-9_]*([eE][-+]?[0-9]+)? | [-+]?[0-9][0-9_]*[eE][-+]?[0-9]+
// | [-+]?\.[0-9_]+([eE][-+][0-9]+)? | [-+]?\.(inf|Inf|INF) | \.(nan|NaN|NAN)
bool IsFloatText(std::string_view text) {
  for (std::string_view nan : {".nan", ".NaN", ".NAN"}) {
    if (text == nan) return true;
  }
  Cursor cursor(text);
  cursor.TakeAny(kSigns);
  for (std::string_view inf : {".inf", ".Inf", ".INF"}) {
    Cursor copy = cursor;
    if (copy.TakeWord(inf) && copy.AtEnd()) return true;
  }
  if (cursor.Take('.')) {  // .5, .5e+3: the exponent needs its sign
    if (cursor.TakeRun("0123456789_") == 0) return false;
    if (cursor.TakeAny("eE") && !(cursor.TakeAny(kSigns) && cursor.TakeRun(kDigits) > 0)) {
      return false;
    }
    return cursor.AtEnd();
  }
  if (!cursor.TakeAny(kDigits)) return false;
  cursor.TakeRun("0123456789_");
  const bool point = cursor.Take('.');
  if (point) cursor.TakeRun("0123456789_");
  if (cursor.TakeAny("eE")) {
    cursor.TakeAny(kSigns);
    if (cursor.TakeRun(kDigits) == 0) return false;
  } else if (!point) {
    return false;  // an integer
  }
  return cursor.AtEnd();
}

// [0-9]{4}-[0-9]{2}-[0-9]{2}
// | [0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?
//   ([ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?))?
bool IsTimestampText(std::string_view text) {
  {
    Cursor cursor(text);
    if (cursor.TakeDigits(4, 4) && cursor.Take('-') && cursor.TakeDigits(2, 2) &&
        cursor.Take('-') && cursor.TakeDigits(2, 2) && cursor.AtEnd()) {
      return true;
    }
  }
  Cursor cursor(text);
  if (!(cursor.TakeDigits(4, 4) && cursor.Take('-') && cursor.TakeDigits(1, 2) &&
        cursor.Take('-') && cursor.TakeDigits(1, 2))) {
    return false;
  }
  if (!cursor.TakeAny("Tt") && cursor.TakeRun(" \t") == 0) return false;
  if (!(cursor.TakeDigits(1, 2) && cursor.Take(':') && cursor.TakeDigits(2, 2) &&
        cursor.Take(':') && cursor.TakeDigits(2, 2))) {
    return false;
  }
  if (cursor.Take('.')) cursor.TakeRun(kDigits);
  if (cursor.AtEnd()) return true;
  cursor.TakeRun(" \t");
  if (cursor.Take('Z')) return cursor.AtEnd();
  if (!(cursor.TakeAny(kSigns) && cursor.TakeDigits(1, 2))) return false;
  if (cursor.Take(':') && !cursor.TakeDigits(2, 2)) return false;
  return cursor.AtEnd();
}

// The longest scalar DescribeYamlValue shows whole.
constexpr size_t kLongestShown = 80;

constexpr char kCoreTagPrefix[] = "tag:yaml.org,2002:";

// ruamel.yaml tries a resolver only on scalars starting with one of its first
// characters; for the int pattern that excludes "_1".
YamlValueKind KindOfPlainScalar(std::string_view text) {
  if (IsNullText(text)) return YamlValueKind::kNull;
  if (IsBoolText(text)) return YamlValueKind::kBool;
  const bool numeric_start = !text.empty() && text[0] != '_' && text[0] != '.';
  if (numeric_start && IsIntText(text)) return YamlValueKind::kInt;
  if (IsFloatText(text)) return YamlValueKind::kFloat;
  if (IsTimestampText(text)) return YamlValueKind::kTimestamp;
  return YamlValueKind::kString;
}

YamlValueKind KindOfTaggedScalar(const std::string& tag) {
  const std::string prefix = kCoreTagPrefix;
  if (tag.compare(0, prefix.size(), prefix) != 0) return YamlValueKind::kString;
  const std::string name = tag.substr(prefix.size());
  if (name == "null") return YamlValueKind::kNull;
  if (name == "bool") return YamlValueKind::kBool;
  if (name == "int") return YamlValueKind::kInt;
  if (name == "float") return YamlValueKind::kFloat;
  if (name == "timestamp") return YamlValueKind::kTimestamp;
  return YamlValueKind::kString;
}

// True for a plain `<<` map key, which YAML reads as a merge.
bool IsMergeKey(const YAML::Node& key) {
  return key.IsScalar() && key.Tag() == "?" && key.Scalar() == "<<";
}

// Keeps where the document being parsed started, and ignores everything else.
class DocumentStart : public YAML::EventHandler {
 public:
  const YAML::Mark& mark() const { return mark_; }

  void OnDocumentStart(const YAML::Mark& mark) override { mark_ = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  YAML::Mark mark_ = YAML::Mark::null_mark();
};

}  // namespace

YamlValueKind KindOfYaml(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return YamlValueKind::kMap;
    case YAML::NodeType::Sequence:
      return YamlValueKind::kList;
    case YAML::NodeType::Scalar:
      break;
    default:
      return YamlValueKind::kNull;
  }
  const std::string& tag = node.Tag();
  if (tag == "!") return YamlValueKind::kString;  // quoted
  if (tag.empty() || tag == "?") return KindOfPlainScalar(node.Scalar());
  return KindOfTaggedScalar(tag);
}

bool IsYamlString(const YAML::Node& node) { return KindOfYaml(node) == YamlValueKind::kString; }

std::optional<bool> YamlBoolean(const YAML::Node& node) {
  if (KindOfYaml(node) != YamlValueKind::kBool) return std::nullopt;
  const std::string& text = node.Scalar();
  return !text.empty() && (text[0] == 't' || text[0] == 'T');
}

std::string DescribeYamlValue(const YAML::Node& node) {
  std::string text = node.IsScalar() ? node.Scalar() : "";
  if (text.size() > kLongestShown) {
    text = absl::StrCat(text.substr(0, kLongestShown - 16), "... (", text.size(), " bytes)");
  }
  switch (KindOfYaml(node)) {
    case YamlValueKind::kNull:
      return "null";
    case YamlValueKind::kMap:
      return "a map";
    case YamlValueKind::kList:
      return "a list";
    case YamlValueKind::kBool:
      return absl::StrCat("the boolean ", text);
    case YamlValueKind::kInt:
      return absl::StrCat("the integer ", text);
    case YamlValueKind::kFloat:
      return absl::StrCat("the float ", text);
    case YamlValueKind::kTimestamp:
      return absl::StrCat("the timestamp ", text);
    case YamlValueKind::kString:
      break;
  }
  return absl::StrCat("the string \"", text, "\"");
}

std::string CheckYamlTag(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  if (tag.empty() || tag == "?" || tag == "!") return "";
  const std::string prefix = kCoreTagPrefix;
  const bool core = tag.compare(0, prefix.size(), prefix) == 0;
  const std::string shown = core ? absl::StrCat("!!", tag.substr(prefix.size())) : tag;
  const std::string name = core ? tag.substr(prefix.size()) : "";
  const std::string refused = absl::StrCat("the tag ", shown, " is not supported");
  if (name == "seq" || name == "map") {
    if (node.IsSequence() == (name == "seq") && node.IsMap() == (name == "map")) return "";
    return absl::StrCat(refused, " on ", DescribeYamlValue(node));
  }
  if (name == "str" || name == "null" || name == "bool" || name == "int" || name == "float" ||
      name == "timestamp") {
    if (node.IsNull())
      return name == "null" || name == "str" ? "" : absl::StrCat(refused, " on null");
    if (!node.IsScalar()) return absl::StrCat(refused, " on ", DescribeYamlValue(node));
    if (name == "str") return "";
    const YamlValueKind kind = KindOfPlainScalar(node.Scalar());
    const bool number = name == "float" && kind == YamlValueKind::kInt;  // !!float 1 is 1.0
    if (kind != KindOfTaggedScalar(tag) && !number) {
      return absl::StrCat("the text \"", node.Scalar(), "\" is not a valid ", shown);
    }
    return "";
  }
  return absl::StrCat(refused, " (cards may use only the YAML 1.2 core tags !!str, !!int, ",
                      "!!float, !!bool, !!null, !!timestamp, !!seq and !!map)");
}

YAML::Node CopyYaml(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      YAML::Node copy(node.Scalar());
      copy.SetTag(node.Tag());
      copy.SetStyle(node.Style());
      return copy;
    }
    case YAML::NodeType::Sequence: {
      YAML::Node copy(YAML::NodeType::Sequence);
      for (const YAML::Node& item : node) copy.push_back(CopyYaml(item));
      copy.SetTag(node.Tag());
      copy.SetStyle(node.Style());
      return copy;
    }
    case YAML::NodeType::Map: {
      YAML::Node copy(YAML::NodeType::Map);
      for (auto it = node.begin(); it != node.end(); ++it) {
        copy.force_insert(CopyYaml(it->first), CopyYaml(it->second));
      }
      copy.SetTag(node.Tag());
      copy.SetStyle(node.Style());
      return copy;
    }
    default:
      return YAML::Node(YAML::NodeType::Null);
  }
}

std::vector<YAML::Node> LoadYamlDocuments(const std::string& text) {
  // A first pass over the parser's events, keeping nothing: every document
  // consumes at least one token unless the parser is stuck, so a document that
  // starts where the one before it started means LoadAll would never end.
  std::istringstream stream(text);
  YAML::Parser parser(stream);
  DocumentStart start;
  std::optional<YAML::Mark> previous;
  while (parser.HandleNextDocument(start)) {
    const YAML::Mark& mark = start.mark();
    if (previous && previous->pos == mark.pos) {
      const bool shown = mark.pos >= 0 && static_cast<size_t>(mark.pos) < text.size() &&
                         absl::ascii_isgraph(static_cast<unsigned char>(text[mark.pos]));
      throw YAML::ParserException(
          mark, shown ? absl::StrCat("unexpected '", std::string(1, text[mark.pos]),
                                     "' after the end of a node")
                      : std::string("unexpected token after the end of a node"));
    }
    previous = mark;
  }
  return YAML::LoadAll(text);
}

void ResolveYamlMergeKeys(YAML::Node node) {
  if (node.IsSequence()) {
    for (YAML::Node item : node) ResolveYamlMergeKeys(item);
    return;
  }
  if (!node.IsMap()) return;
  std::vector<std::pair<YAML::Node, YAML::Node>> entries;  // merged ones first
  bool merges = false;
  for (auto it = node.begin(); it != node.end(); ++it) {
    if (!IsMergeKey(it->first)) continue;
    merges = true;
    YAML::Node value = it->second;
    std::vector<YAML::Node> sources;
    if (value.IsMap()) {
      sources.push_back(value);
    } else if (value.IsSequence()) {
      for (const YAML::Node& item : value) {
        if (!item.IsMap()) {
          throw YAML::ParserException(item.Mark(),
                                      "a merge key (<<) takes a map or a list of maps, got "
                                      "a list holding " +
                                          DescribeYamlValue(item));
        }
        sources.push_back(item);
      }
    } else {
      throw YAML::ParserException(
          value.Mark(),
          "a merge key (<<) takes a map or a list of maps, got " + DescribeYamlValue(value));
    }
    // The last source first, so that an earlier one overrides it, as ruamel does.
    for (auto source = sources.rbegin(); source != sources.rend(); ++source) {
      ResolveYamlMergeKeys(*source);
      for (auto entry = source->begin(); entry != source->end(); ++entry) {
        entries.emplace_back(entry->first, entry->second);
      }
    }
  }
  std::vector<std::pair<YAML::Node, YAML::Node>> own;
  for (auto it = node.begin(); it != node.end(); ++it) {
    own.emplace_back(it->first, it->second);
  }
  if (merges) {
    for (auto& [key, value] : own) {
      if (!IsMergeKey(key)) {
        entries.emplace_back(key, value);
      }
    }
    // One entry per key, where the key first appears, with the last value given.
    std::vector<std::pair<YAML::Node, YAML::Node>> merged;
    std::unordered_map<std::string, size_t> index;
    for (auto& [key, value] : entries) {
      if (!key.IsScalar()) {
        merged.emplace_back(key, value);
        continue;
      }
      auto [at, inserted] = index.emplace(key.Scalar(), merged.size());
      if (inserted) {
        merged.emplace_back(key, value);
      } else {
        merged[at->second].second.reset(value);  // rebinds; `=` would overwrite the node
      }
    }
    for (auto& [key, value] : own) node.remove(key);
    for (auto& [key, value] : merged) node.force_insert(key, value);
    own = std::move(merged);
  }
  for (auto& [key, value] : own) ResolveYamlMergeKeys(value);
}

}  // namespace modelhub
