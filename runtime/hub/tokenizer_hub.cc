#include "runtime/hub/tokenizer_hub.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/assets/config_merge.h"
#include "runtime/config/yaml_fields.h"
#include "runtime/core/closest_names.h"
#include "runtime/core/errors.h"
#include "runtime/hub/checkpoint_fetch.h"
#include "runtime/hub/model_loader.h"
#include "runtime/tokenizers/tokenizer_files.h"

namespace modelhub {
namespace fs = std::filesystem;
namespace {

// Makes the token `token` the tokenizer's end of sequence (and a stop token);
// TokenizerLoadError naming `why` when the tokenizer has no such token.
void SetEos(Tokenizer& tokenizer, const std::string& token, const std::string& why) {
  const std::optional<int64_t> id = tokenizer.TokenToId(token);
  if (!id) {
    throw TokenizerLoadError(tokenizer.source(), "",
                             absl::StrCat("it has no token ", token, ", which ", why, " needs"));
  }
  TokenizerSpecialIds ids = tokenizer.special_ids();
  ids.eos = *id;
  ids.AddStop(*id);
  tokenizer.set_special_ids(std::move(ids));
}

template <typename ConfigT>
struct FamilyTraits;

template <>
struct FamilyTraits<QwenTokenizerConfig> {
  static constexpr const char* kName = "qwen";
  static constexpr const char* kType = "QwenTokenizerConfig";
  static void Read(YamlFieldReader& reader, QwenTokenizerConfig* config) {
    reader.Read("use_im_end", &config->use_im_end);
  }
  static std::shared_ptr<Tokenizer> Open(const std::string& path,
                                         const QwenTokenizerConfig& config) {
    std::shared_ptr<Tokenizer> tokenizer = OpenTokenizer(path);
    if (config.use_im_end) {
      SetEos(*tokenizer, "<|im_end|>", "tokenizer_config use_im_end");
    } else {
      SetEos(*tokenizer, "<|endoftext|>", "a Qwen tokenizer without use_im_end");
    }
    return tokenizer;
  }
};

template <>
struct FamilyTraits<LlamaTokenizerConfig> {
  static constexpr const char* kName = "llama";
  static constexpr const char* kType = "LlamaTokenizerConfig";
  static void Read(YamlFieldReader& reader, LlamaTokenizerConfig* config) {
    reader.Read("impl", &config->impl, {"", "sp", "tiktoken", "hg"});
    reader.Read("use_eot", &config->use_eot);
    reader.Read("split_regex", &config->split_regex);
  }
  static std::shared_ptr<Tokenizer> Open(const std::string& path,
                                         const LlamaTokenizerConfig& config) {
    if (!config.split_regex.empty()) {
      throw ConfigError(kType, "split_regex", SourceMark(),
                        "a custom tiktoken split pattern is not supported by modelhub");
    }
    std::string file = path;
    std::error_code error;
    if (!config.impl.empty() && fs::is_directory(path, error)) {
      file =
          (fs::path(path) / (config.impl == "hg" ? "tokenizer.json" : "tokenizer.model")).string();
    }
    std::shared_ptr<Tokenizer> tokenizer = OpenTokenizer(file);
    if (config.use_eot) {
      SetEos(*tokenizer, "<|eot_id|>", "tokenizer_config use_eot");
    } else if (tokenizer->TokenToId("<|end_of_text|>")) {
      SetEos(*tokenizer, "<|end_of_text|>", "Llama 3");
    }
    return tokenizer;
  }
};

template <>
struct FamilyTraits<MistralTokenizerConfig> {
  static constexpr const char* kName = "mistral";
  static constexpr const char* kType = "MistralTokenizerConfig";
  static void Read(YamlFieldReader&, MistralTokenizerConfig*) {}
  static std::shared_ptr<Tokenizer> Open(const std::string& path, const MistralTokenizerConfig&) {
    return OpenTokenizer(path);
  }
};

template <>
struct FamilyTraits<HgTokenizerConfig> {
  static constexpr const char* kName = "hg";
  static constexpr const char* kType = "HgTokenizerConfig";
  static void Read(YamlFieldReader&, HgTokenizerConfig*) {}
  static std::shared_ptr<Tokenizer> Open(const std::string& path, const HgTokenizerConfig&) {
    return OpenTokenizer(path);
  }
};

const AssetCard& CardNamed(std::string_view name) {
  const AssetStore& store = DefaultAssetStore();
  std::shared_ptr<const AssetCard> card = store.maybe_retrieve_card(name);
  if (card == nullptr) {
    const std::vector<std::string> closest = ClosestNames(name, store.card_names(), 3);
    throw TokenizerNotKnownError(
        std::string(name),
        closest.empty() ? "" : absl::StrCat("did you mean: ", absl::StrJoin(closest, ", ")));
  }
  return store.card(name);  // the store's cache keeps the card alive
}

std::string TokenizerFamilyOf(const AssetCard& card) {
  const std::optional<std::string> family = card.maybe_string("tokenizer_family");
  if (!family) {
    throw AssetCardError(card.name(),
                         absl::StrCat("card '", card.name(), "' (", card.mark().ToString(),
                                      ") has a tokenizer but no tokenizer_family"));
  }
  return *family;
}

// Where the tokenizer of `card` is on this machine, fetched first when remote.
std::string CardTokenizerPath(const AssetCard& card, const TokenizerLoadOptions& options) {
  if (!card.has("tokenizer")) {
    throw TokenizerGatedError(card.name(), card.maybe_string("url").value_or(""));
  }
  const std::string location = card.ResolvePath("tokenizer");
  const std::optional<std::string> inside = card.path_inside("tokenizer_path");
  if (IsRemoteUri(location)) {
    FetchOptions fetch;
    fetch.offline = options.offline;
    fetch.progress = options.progress;
    return FetchTokenizer(location, inside, fetch).path;
  }
  return inside ? (fs::path(location) / *inside).lexically_normal().string() : location;
}

template <typename ConfigT>
ConfigT ReadCardConfig(const AssetCard& card) {
  using Traits = FamilyTraits<ConfigT>;
  const std::string family = TokenizerFamilyOf(card);
  if (family != Traits::kName) {
    throw AssetCardError(card.name(),
                         absl::StrCat("tokenizer_family of card '", card.name(), "' is '", family,
                                      "', not '", Traits::kName, "'"));
  }
  ConfigT config;
  const std::vector<ConfigOverride> overrides = card.tokenizer_config_overrides();
  if (overrides.empty()) return config;
  const YAML::Node merged = ApplyConfigOverrides(YAML::Node(YAML::NodeType::Map), overrides);
  const std::string what = absl::StrCat("card '", card.name(), "' ", overrides.back().origin.field,
                                        " (", Traits::kType, ")");
  try {
    YamlFieldReader reader(merged, YamlContext{what, "", "", ScalarRule::kFairseq2});
    Traits::Read(reader, &config);
    reader.Finish();
  } catch (const ConfigError& e) {
    throw ConfigError(e.config(), e.field(), FindOverrideMark(overrides, e.field()), e.reason());
  }
  return config;
}

template <typename ConfigT>
std::shared_ptr<Tokenizer> LoadCard(const AssetCard& named, const TokenizerLoadOptions& options,
                                    const std::optional<ConfigT>& replacement) {
  const AssetCard& card = ResolveTokenizerCard(named, DefaultAssetStore());
  const ConfigT config = replacement ? *replacement : ReadCardConfig<ConfigT>(card);
  if (replacement) ReadCardConfig<ConfigT>(card);  // the family check
  const std::string path = CardTokenizerPath(card, options);
  try {
    return FamilyTraits<ConfigT>::Open(path, config);
  } catch (const ConfigError& e) {
    const std::vector<ConfigOverride> overrides = card.tokenizer_config_overrides();
    throw ConfigError(e.config(), e.field(), FindOverrideMark(overrides, e.field()), e.reason());
  }
}

}  // namespace

const AssetCard& ResolveTokenizerCard(const AssetCard& card, const AssetStore& store) {
  const AssetCard* current = &card;
  for (int hops = 0; current->has("tokenizer_ref"); ++hops) {
    const std::string target = current->string("tokenizer_ref");
    std::shared_ptr<const AssetCard> next = store.maybe_retrieve_card(target);
    if (next == nullptr) {
      throw AssetCardError(
          card.name(),
          absl::StrCat("tokenizer_ref (", current->field_mark("tokenizer_ref").ToString(),
                       ") names '", target, "', which no asset card is"));
    }
    if (hops > 32) {
      throw AssetCardError(card.name(), "tokenizer_ref goes round in a circle");
    }
    current = &store.card(target);
  }
  return *current;
}

template <typename ConfigT>
std::vector<std::shared_ptr<const AssetCard>> TokenizerHub<ConfigT>::iter_cards() const {
  return DefaultAssetStore().find_cards("tokenizer_family", family_);
}

template <typename ConfigT>
ConfigT TokenizerHub<ConfigT>::get_tokenizer_config(std::string_view name) const {
  return ReadCardConfig<ConfigT>(ResolveTokenizerCard(CardNamed(name), DefaultAssetStore()));
}

template <typename ConfigT>
std::shared_ptr<Tokenizer> TokenizerHub<ConfigT>::load_tokenizer(
    std::string_view name, const TokenizerLoadOptions& options,
    const std::optional<ConfigT>& config) const {
  return LoadCard<ConfigT>(CardNamed(name), options, config);
}

template <typename ConfigT>
std::shared_ptr<Tokenizer> TokenizerHub<ConfigT>::load_custom_tokenizer(
    const std::string& path, const ConfigT& config) const {
  return FamilyTraits<ConfigT>::Open(path, config);
}

template class TokenizerHub<QwenTokenizerConfig>;
template class TokenizerHub<LlamaTokenizerConfig>;
template class TokenizerHub<MistralTokenizerConfig>;
template class TokenizerHub<HgTokenizerConfig>;

TokenizerHub<QwenTokenizerConfig> get_qwen_tokenizer_hub() {
  return TokenizerHub<QwenTokenizerConfig>("qwen");
}
TokenizerHub<LlamaTokenizerConfig> get_llama_tokenizer_hub() {
  return TokenizerHub<LlamaTokenizerConfig>("llama");
}
TokenizerHub<MistralTokenizerConfig> get_mistral_tokenizer_hub() {
  return TokenizerHub<MistralTokenizerConfig>("mistral");
}
TokenizerHub<HgTokenizerConfig> get_hg_tokenizer_hub() {
  return TokenizerHub<HgTokenizerConfig>("hg");
}

std::vector<std::string> TokenizerFamilyNames() { return {"hg", "llama", "mistral", "qwen"}; }

std::shared_ptr<Tokenizer> LoadTokenizerFromCard(const AssetCard& card,
                                                 const TokenizerLoadOptions& options,
                                                 const AssetStore* store) {
  const AssetCard& resolved =
      ResolveTokenizerCard(card, store != nullptr ? *store : DefaultAssetStore());
  if (!resolved.has("tokenizer")) {
    throw TokenizerGatedError(card.name(), resolved.maybe_string("url").value_or(""));
  }
  const std::string family = TokenizerFamilyOf(resolved);
  if (family == "qwen") return LoadCard<QwenTokenizerConfig>(resolved, options, std::nullopt);
  if (family == "llama") return LoadCard<LlamaTokenizerConfig>(resolved, options, std::nullopt);
  if (family == "mistral") return LoadCard<MistralTokenizerConfig>(resolved, options, std::nullopt);
  if (family == "hg") return LoadCard<HgTokenizerConfig>(resolved, options, std::nullopt);
  throw TokenizerFamilyNotKnownError(family, TokenizerFamilyNames());
}

std::shared_ptr<Tokenizer> load_tokenizer(std::string_view name,
                                          const TokenizerLoadOptions& options) {
  return LoadTokenizerFromCard(CardNamed(name), options);
}

}  // namespace modelhub
