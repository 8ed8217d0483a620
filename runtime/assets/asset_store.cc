#include "runtime/assets/asset_store.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/assets/yaml_values.h"
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

// Throws for a map anywhere in `node` that gives a key twice, as fairseq2's YAML
// loader (ruamel.yaml) does.
void CheckDuplicateKeys(const YAML::Node& node, const std::string& file, const std::string& card) {
  if (node.IsSequence()) {
    for (const YAML::Node& item : node) CheckDuplicateKeys(item, file, card);
    return;
  }
  if (!node.IsMap()) return;
  std::vector<std::pair<std::string, YAML::Node>> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = KeyText(it->first);
    for (const auto& [other, other_node] : seen) {
      if (other == key) {
        throw AssetCardError(card,
                             absl::StrCat(MarkIn(file, it->first.Mark()).ToString(), ": key '", key,
                                          "' is given twice in one map (first at line ",
                                          MarkIn(file, other_node.Mark()).line, ")"));
      }
    }
    seen.emplace_back(key, it->first);
    CheckDuplicateKeys(it->second, file, card);
  }
}

bool Exists(const std::string& path) {
  std::error_code error;
  return !path.empty() && fs::exists(path, error);
}

}  // namespace

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
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAllFromFile(file);
  } catch (const YAML::BadFile&) {
    throw AssetNotFoundError(file);
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
    CheckDuplicateKeys(node, file, file);

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

std::shared_ptr<const AssetCard> AssetStore::Resolve(const std::string& name,
                                                     const std::vector<std::string>& envs,
                                                     const std::string& leaf,
                                                     std::vector<std::string>* chain,
                                                     const AssetCardField* referrer) const {
  const std::string cache_key = absl::StrCat(name, "@", absl::StrJoin(envs, ","));
  if (auto hit = cache_.find(cache_key); hit != cache_.end()) return hit->second;

  auto found = documents_.find(absl::StrCat(name, "@"));
  if (found == documents_.end()) {
    if (referrer == nullptr) return nullptr;
    throw AssetCardError(leaf, absl::StrCat(referrer->mark.ToString(), ": base card '", name,
                                            "' of card '", referrer->card, "' does not exist"));
  }
  if (std::find(chain->begin(), chain->end(), name) != chain->end()) {
    throw AssetCardError(leaf,
                         absl::StrCat(referrer->mark.ToString(), ": the base chain of card '", leaf,
                                      "' loops: ", absl::StrJoin(*chain, " -> "), " -> ", name));
  }
  const Document& document = found->second;

  // The overlay of the first environment that has one replaces top-level fields
  // in place and adds the others at the end (Python's dict.update). Built anew:
  // assigning a field would rebind the document's own YAML node.
  const Document* overlay = nullptr;
  for (const std::string& env : envs) {
    auto found_overlay = documents_.find(absl::StrCat(name, "@", env));
    if (found_overlay != documents_.end()) {
      overlay = &found_overlay->second;
      break;
    }
  }
  auto find_in = [](const std::vector<AssetCardField>& fields, const std::string& name) {
    return std::find_if(fields.begin(), fields.end(),
                        [&](const AssetCardField& f) { return f.name == name; });
  };
  std::vector<AssetCardField> fields;
  for (const AssetCardField& field : document.fields) {
    const AssetCardField* replacement = nullptr;
    if (overlay != nullptr) {
      auto found_field = find_in(overlay->fields, field.name);
      if (found_field != overlay->fields.end()) replacement = &*found_field;
    }
    fields.push_back(replacement != nullptr ? *replacement : field);
  }
  if (overlay != nullptr) {
    for (const AssetCardField& field : overlay->fields) {
      if (find_in(document.fields, field.name) == document.fields.end()) fields.push_back(field);
    }
  }

  std::shared_ptr<const AssetCard> base;
  auto base_field = std::find_if(fields.begin(), fields.end(),
                                 [](const AssetCardField& f) { return f.name == "base"; });
  if (base_field != fields.end() && IsYamlString(base_field->value)) {
    chain->push_back(name);
    base = Resolve(Strip(base_field->value.Scalar()), envs, leaf, chain, &*base_field);
    chain->pop_back();
  }

  auto card = std::make_shared<const AssetCard>(name, document.mark, document.source,
                                                std::move(fields), std::move(base));
  cache_.emplace(cache_key, card);
  return card;
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
  std::vector<std::string> chain;
  return Resolve(card, envs, card, &chain, nullptr);
}

std::shared_ptr<const AssetCard> AssetStore::retrieve_card(std::string_view name) const {
  std::shared_ptr<const AssetCard> card = maybe_retrieve_card(name);
  if (card == nullptr) throw AssetNotFoundError(std::string(name));
  return card;
}

const AssetCard& AssetStore::card(std::string_view name) const {
  std::shared_ptr<const AssetCard> card = maybe_retrieve_card(name);
  if (card == nullptr) throw ModelNotKnownError(std::string(name));
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
