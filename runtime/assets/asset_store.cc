#include "runtime/assets/asset_store.h"

#include <yaml-cpp/depthguard.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <system_error>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/assets/yaml_values.h"
#include "runtime/core/closest_names.h"
#include "runtime/core/environment.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;

// The environment fairseq2 always applies overlays of, when a name has none.
constexpr char kUserEnv[] = "user";

// `text` without leading and trailing whitespace, as Python's str.strip().
std::string Strip(std::string_view text) {
  std::string copy(text);
  absl::StripAsciiWhitespace(&copy);
  return copy;
}

SourceMark MarkIn(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) return SourceMark{file, 0, 0};
  return SourceMark{file, mark.line + 1, mark.column + 1};
}

std::string KeyText(const YAML::Node& key) {
  return key.IsScalar() ? key.Scalar() : YAML::Dump(key);
}

bool Exists(const std::string& path) {
  std::error_code error;
  return !path.empty() && fs::exists(path, error);
}

// Checks every node of the documents of one file before anything else reads
// them (see AssetStore), counting the work against one budget for the file.
class DocumentChecker {
 public:
  DocumentChecker(const std::string& file, uint64_t bytes)
      : file_(file), budget_(kMaxCardExpansion(bytes)) {}

  // Throws AssetCardError(file) for a map key that is not a scalar or is given
  // twice, an unsupported tag, an alias to a node that contains it, nesting
  // deeper than kMaxCardNesting, or a file expanding beyond its budget.
  // Iterative: the depth of the document never reaches the stack.
  void Check(const YAML::Node& document) {
    path_.clear();
    field_.reset();
    Enter(document);
    while (!path_.empty()) {
      Level& top = path_.back();
      if (top.next == top.end) {
        path_.pop_back();
        continue;
      }
      const YAML::const_iterator it = top.next++;
      if (top.node.IsMap()) {
        const YAML::Node key = it->first;
        const YAML::Node value = it->second;
        if (path_.size() == 1) field_.emplace(key);  // not `=`, which rebinds
        Enter(key);
        Enter(value);
      } else {
        const YAML::Node item = *it;
        Enter(item);
      }
    }
  }

 private:
  struct Level {
    YAML::Node node;
    int pos;  // node.Mark().pos
    YAML::const_iterator next;
    YAML::const_iterator end;
  };

  [[noreturn]] void Fail(const YAML::Node& at, const std::string& message) const {
    throw AssetCardError(file_, absl::StrCat(MarkIn(file_, at.Mark()).ToString(), ": ", message));
  }

  void Enter(const YAML::Node& node) {
    const uint64_t cost = 1 + (node.IsScalar() ? node.Scalar().size() : 0);
    if (cost > budget_) {
      Fail(field_ ? *field_ : node,
           absl::StrCat(field_ ? absl::StrCat("field '", KeyText(*field_), "'") : "the document",
                        " expands to too many YAML nodes: the file may expand to ",
                        kMaxCardExpansion(0),
                        " + 2 x its size in nodes and bytes of text, counting what an alias "
                        "(*name) repeats at every use"));
    }
    budget_ -= cost;
    if (std::string why = CheckYamlTag(node); !why.empty()) Fail(node, why);
    if (!node.IsMap() && !node.IsSequence()) return;
    if (path_.size() >= kMaxCardNesting) {
      Fail(node, absl::StrCat("maps and lists nest more than ", kMaxCardNesting,
                              " levels deep, the most a card may"));
    }
    // Nodes start after their parents, but for the first key of a block map:
    // a node starting no later than its parent may be an alias to an ancestor,
    // which starts where it does.
    const int pos = node.Mark().pos;
    if (!path_.empty() && pos <= path_.back().pos) {
      for (const Level& level : path_) {
        if (level.pos == pos && level.node.is(node)) {
          Fail(node,
               "an alias refers to a map or list that contains it: cards must be "
               "finite trees");
        }
      }
    }
    if (node.IsMap()) CheckKeys(node);
    path_.push_back(Level{node, pos, node.begin(), node.end()});
  }

  // Map keys are scalars, each given once, as ruamel.yaml requires.
  void CheckKeys(const YAML::Node& map) const {
    std::unordered_map<std::string, YAML::Mark> seen;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (it->first.IsMap() || it->first.IsSequence()) {
        Fail(it->first, absl::StrCat("a map key must be a string or another scalar, got ",
                                     DescribeYamlValue(it->first)));
      }
      auto [other, inserted] = seen.emplace(KeyText(it->first), it->first.Mark());
      if (!inserted) {
        Fail(it->first,
             absl::StrCat("key '", other->first, "' is given twice in one map (first at line ",
                          MarkIn(file_, other->second).line, ")"));
      }
    }
  }

  const std::string& file_;
  uint64_t budget_;
  std::vector<Level> path_;
  std::optional<YAML::Node> field_;  // the top-level key being checked, for errors
};

}  // namespace

std::string ReadCardFile(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    const int error = errno;
    if (!Exists(file)) throw AssetNotFoundError(file);
    throw AssetCardError(file, absl::StrCat(file, ": cannot read the card file: ",
                                            std::generic_category().message(error)));
  }
  std::string text(kMaxCardFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) {
    throw AssetCardError(file, absl::StrCat(file, ": cannot read the card file: ",
                                            std::generic_category().message(errno)));
  }
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxCardFileBytes) {
    throw AssetCardError(
        file, absl::StrCat(file, ":1:1: the card file is larger than ", kMaxCardFileBytes,
                           " bytes (1 MiB), the most a card file may hold"));
  }
  return text;
}

AssetStore::AssetStore(std::vector<AssetSource> sources) : sources_(std::move(sources)) {
  for (const AssetSource& source : sources_) LoadSource(source);
}

void AssetStore::LoadSource(const AssetSource& source) {
  std::error_code error;
  const fs::file_status status = fs::status(source.path, error);
  if (error || !fs::exists(status)) throw AssetNotFoundError(source.path);
  if (!fs::is_directory(status)) {
    LoadFile(source.path, source.label);
    return;
  }
  std::vector<std::string> files;
  try {
    for (const fs::directory_entry& entry : fs::recursive_directory_iterator(source.path)) {
      const std::string extension = entry.path().extension().string();
      if ((extension == ".yaml" || extension == ".yml") && entry.is_regular_file()) {
        files.push_back(entry.path().string());
      }
    }
  } catch (const fs::filesystem_error& e) {
    throw Error(absl::StrCat("cannot list the asset cards in ", source.path, ": ", e.what()));
  }
  std::sort(files.begin(), files.end());
  for (const std::string& file : files) LoadFile(file, source.label);
}

void AssetStore::LoadFile(const std::string& file, const std::string& label) {
  const std::string text = ReadCardFile(file);
  std::vector<YAML::Node> documents;
  try {
    documents = LoadYamlDocuments(text);
    // The checks bound the documents' size and depth before merge keys are
    // resolved, which walks them with aliases expanded.
    DocumentChecker checker(file, text.size());
    for (const YAML::Node& document : documents) checker.Check(document);
    for (const YAML::Node& document : documents) ResolveYamlMergeKeys(document);
  } catch (const YAML::DeepRecursion& e) {
    throw AssetCardError(
        file, absl::StrCat(MarkIn(file, e.mark).ToString(), ": maps and lists nest more than ",
                           kMaxCardNesting, " levels deep, the most a card may"));
  } catch (const YAML::Exception& e) {
    throw AssetCardError(
        file, absl::StrCat(MarkIn(file, e.mark).ToString(), ": not valid YAML: ", e.msg));
  }
  const std::string dir = fs::absolute(file).parent_path().lexically_normal().string();

  for (size_t index = 0; index < documents.size(); ++index) {
    const YAML::Node& node = documents[index];
    if (KindOfYaml(node) == YamlValueKind::kNull) continue;  // an empty document
    const SourceMark mark = MarkIn(file, node.Mark());
    const std::string where = absl::StrCat(mark.ToString(), ": document ", index + 1);
    if (!node.IsMap()) {
      throw AssetCardError(file, absl::StrCat(where, " must be a map of card fields, got ",
                                              DescribeYamlValue(node)));
    }

    const YAML::Node name_node = node["name"];
    if (!name_node.IsDefined() || KindOfYaml(name_node) == YamlValueKind::kNull ||
        (IsYamlString(name_node) && name_node.Scalar().empty())) {
      throw AssetCardError(file, absl::StrCat(where, " has no 'name' field: every card needs one"));
    }
    const SourceMark name_mark = MarkIn(file, name_node.Mark());
    if (!IsYamlString(name_node)) {
      throw AssetCardError(file,
                           absl::StrCat(name_mark.ToString(), ": 'name' must be a string, got ",
                                        DescribeYamlValue(name_node)));
    }
    const std::string& raw_name = name_node.Scalar();
    const size_t at = raw_name.find('@');
    Document document;
    document.name = Strip(std::string_view(raw_name).substr(0, at));
    if (at != std::string::npos) document.env = Strip(std::string_view(raw_name).substr(at + 1));
    if (at != std::string::npos && raw_name.find('@', at + 1) != std::string::npos) {
      throw AssetCardError(raw_name, absl::StrCat(name_mark.ToString(), ": name '", raw_name,
                                                  "' must be 'card' or 'card@environment', "
                                                  "with one '@' at most"));
    }
    if (document.name.empty()) {
      throw AssetCardError(raw_name, absl::StrCat(name_mark.ToString(), ": name '", raw_name,
                                                  "' has no card name before '@'"));
    }
    const std::string& card = document.name;
    document.source = label;
    document.mark = mark;

    for (auto it = node.begin(); it != node.end(); ++it) {
      AssetCardField field{KeyText(it->first), it->second, MarkIn(file, it->first.Mark()), dir,
                           card};
      if (field.name == "name") continue;
      if (field.name == "base" && KindOfYaml(field.value) != YamlValueKind::kNull) {
        if (!IsYamlString(field.value)) {
          throw AssetCardError(card, absl::StrCat(field.mark.ToString(),
                                                  ": 'base' must be the name of a card (a "
                                                  "string), got ",
                                                  DescribeYamlValue(field.value)));
        }
        const std::string base = field.value.Scalar();
        if (base.find('@') != std::string::npos) {
          throw AssetCardError(card, absl::StrCat(field.mark.ToString(),
                                                  ": 'base' must name a "
                                                  "card, not an overlay, got \"",
                                                  base, "\""));
        }
        if (Strip(base).empty()) {
          throw AssetCardError(card, absl::StrCat(field.mark.ToString(),
                                                  ": 'base' must name a card, got an empty name"));
        }
      }
      document.fields.push_back(std::move(field));
    }
    Add(std::move(document));
  }
}

void AssetStore::Add(Document document) {
  const std::string key = absl::StrCat(document.name, "@", document.env);
  auto [it, inserted] = documents_.emplace(key, document);
  if (inserted) return;
  const Document& first = it->second;
  const std::string shown = document.env.empty() ? document.name : key;
  throw AssetCardError(
      document.name, absl::StrCat(document.mark.ToString(), ": '", shown,
                                  "' is defined twice: here (", document.source, " cards) and at ",
                                  first.mark.ToString(), " (", first.source, " cards)"));
}

std::vector<AssetSource> AssetStore::DefaultSources(const std::string& builtin_dir,
                                                    const std::vector<std::string>& extra_paths) {
  std::vector<AssetSource> sources;
  if (!builtin_dir.empty()) sources.push_back({"built-in", builtin_dir});

  std::string system = GetEnv("MODELHUB_ASSET_DIR");
  if (!Exists(system)) system = "/etc/modelhub/assets";
  if (Exists(system)) sources.push_back({"system", system});

  std::string user = GetEnv("MODELHUB_USER_ASSET_DIR");
  if (!Exists(user)) {
    const std::string xdg = GetEnv("XDG_CONFIG_HOME");
    const std::string home = GetEnv("HOME");
    if (!xdg.empty()) {
      user = xdg + "/modelhub/assets";
    } else if (!home.empty()) {
      user = home + "/.config/modelhub/assets";
    } else {
      user.clear();
    }
  }
  if (Exists(user)) sources.push_back({"user", user});

  for (const std::string& path : extra_paths) sources.push_back({"extra", path});
  return sources;
}

AssetStore AssetStore::Default(const std::string& builtin_dir,
                               const std::vector<std::string>& extra_paths) {
  return AssetStore(DefaultSources(builtin_dir, extra_paths));
}

std::vector<AssetCardField> AssetStore::FieldsOf(const Document& document,
                                                 const std::vector<std::string>& envs) const {
  // The overlay of the first environment that has one replaces top-level fields
  // in place and adds the others at the end (Python's dict.update). Built anew:
  // assigning a field would rebind the document's own YAML node.
  const Document* overlay = nullptr;
  for (const std::string& env : envs) {
    auto found = documents_.find(absl::StrCat(document.name, "@", env));
    if (found != documents_.end()) {
      overlay = &found->second;
      break;
    }
  }
  if (overlay == nullptr) return document.fields;
  std::unordered_map<std::string_view, const AssetCardField*> replacements;
  for (const AssetCardField& field : overlay->fields) replacements.emplace(field.name, &field);
  std::vector<AssetCardField> fields;
  std::unordered_set<std::string_view> names;
  for (const AssetCardField& field : document.fields) {
    auto found = replacements.find(field.name);
    fields.push_back(found != replacements.end() ? *found->second : field);
    names.insert(field.name);
  }
  for (const AssetCardField& field : overlay->fields) {
    if (names.count(field.name) == 0) fields.push_back(field);
  }
  return fields;
}

std::shared_ptr<const AssetCard> AssetStore::Resolve(const std::string& leaf,
                                                     const std::vector<std::string>& envs) const {
  const std::string env_key = absl::StrJoin(envs, ",");
  auto cached = [&](const std::string& name) -> std::shared_ptr<const AssetCard> {
    auto hit = cache_.find(absl::StrCat(name, "@", env_key));
    return hit == cache_.end() ? nullptr : hit->second;
  };
  if (std::shared_ptr<const AssetCard> hit = cached(leaf)) return hit;
  if (documents_.count(absl::StrCat(leaf, "@")) == 0) return nullptr;

  // Down the base chain to the root or the first card resolved before, then
  // up again building the cards. A loop, a missing base or an overlong chain
  // is refused at the `base` field that leads to it.
  struct Link {
    std::string name;
    const Document* document;
    std::vector<AssetCardField> fields;
  };
  std::vector<Link> chain;  // leaf first
  std::unordered_set<std::string> seen;
  std::shared_ptr<const AssetCard> base;
  std::string name = leaf;
  SourceMark referrer_mark;  // the `base` field naming `name`, when not the leaf
  std::string referrer_card;
  auto fail = [&](const std::string& message) {
    throw AssetCardError(leaf, absl::StrCat(referrer_mark.ToString(), ": ", message));
  };
  auto too_long = [&] {
    fail(absl::StrCat("the base chain of card '", leaf, "' holds more than ", kMaxBaseChain,
                      " cards below it, the most a card may have (card '", referrer_card,
                      "' names base '", name, "')"));
  };
  while (true) {
    if ((base = cached(name))) {
      // The card kMaxBaseChain links below the leaf may have no base, and the
      // error names its `base` field whichever cards were resolved before.
      const AssetCard* card = base.get();
      for (size_t index = chain.size(); card != nullptr && index < kMaxBaseChain; ++index) {
        card = card->base();
      }
      if (card != nullptr && card->base() != nullptr) {
        const AssetCardField* field = card->own_field("base");
        referrer_mark = field->mark;
        referrer_card = field->card;
        name = card->base()->name();
        too_long();
      }
      break;
    }
    auto found = documents_.find(absl::StrCat(name, "@"));
    if (found == documents_.end()) {
      fail(absl::StrCat("base card '", name, "' of card '", referrer_card, "' does not exist"));
    }
    if (!seen.insert(name).second) {
      std::vector<std::string> names;
      for (const Link& link : chain) names.push_back(link.name);
      fail(absl::StrCat("the base chain of card '", leaf, "' loops: ", absl::StrJoin(names, " -> "),
                        " -> ", name));
    }
    if (chain.size() > kMaxBaseChain) too_long();
    chain.push_back(Link{name, &found->second, FieldsOf(found->second, envs)});
    const std::vector<AssetCardField>& fields = chain.back().fields;
    auto base_field = std::find_if(fields.begin(), fields.end(),
                                   [](const AssetCardField& f) { return f.name == "base"; });
    if (base_field == fields.end() || !IsYamlString(base_field->value)) break;
    referrer_mark = base_field->mark;
    referrer_card = base_field->card;
    name = Strip(base_field->value.Scalar());
  }
  for (auto link = chain.rbegin(); link != chain.rend(); ++link) {
    auto card =
        std::make_shared<const AssetCard>(link->name, link->document->mark, link->document->source,
                                          std::move(link->fields), std::move(base));
    cache_.emplace(absl::StrCat(link->name, "@", env_key), card);
    base = std::move(card);
  }
  return base;
}

std::shared_ptr<const AssetCard> AssetStore::maybe_retrieve_card(std::string_view name) const {
  const size_t at = name.find('@');
  std::vector<std::string> envs;
  if (at == std::string_view::npos) {
    envs.push_back(kUserEnv);
  } else {
    // "card@env" applies env's overlays; "card@" none.
    std::string env = Strip(name.substr(at + 1));
    if (!env.empty()) envs.push_back(std::move(env));
  }
  const std::string card = Strip(name.substr(0, at));
  if (card.empty()) return nullptr;
  std::lock_guard<std::mutex> lock(*mutex_);
  return Resolve(card, envs);
}

std::shared_ptr<const AssetCard> AssetStore::retrieve_card(std::string_view name) const {
  std::shared_ptr<const AssetCard> card = maybe_retrieve_card(name);
  if (card == nullptr) throw AssetNotFoundError(std::string(name));
  return card;
}

const AssetCard& AssetStore::card(std::string_view name) const {
  std::shared_ptr<const AssetCard> card = maybe_retrieve_card(name);
  if (card == nullptr) {
    std::string hint = unknown_name_hint_;
    const std::vector<std::string> closest = ClosestNames(name, card_names(), 3);
    if (hint.empty() && !closest.empty()) {
      hint = absl::StrCat("did you mean: ", absl::StrJoin(closest, ", "));
    }
    throw ModelNotKnownError(std::string(name), hint);
  }
  return *card;  // the cache keeps it alive
}

std::vector<std::string> AssetStore::card_names() const {
  std::vector<std::string> names;
  for (const auto& [key, document] : documents_) {
    if (document.env.empty()) names.push_back(document.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> AssetStore::card_names(std::string_view label) const {
  std::vector<std::string> names;
  for (const auto& [key, document] : documents_) {
    if (document.env.empty() && document.source == label) names.push_back(document.name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::shared_ptr<const AssetCard>> AssetStore::find_cards(std::string_view field,
                                                                     std::string_view value) const {
  std::vector<std::shared_ptr<const AssetCard>> cards;
  for (const std::string& name : card_names()) {
    std::shared_ptr<const AssetCard> card = retrieve_card(name);
    const AssetCardField* found = card->find(field);
    if (found != nullptr && IsYamlString(found->value) && found->value.Scalar() == value) {
      cards.push_back(std::move(card));
    }
  }
  return cards;
}

}  // namespace modelhub
