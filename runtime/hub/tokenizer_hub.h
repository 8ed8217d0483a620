#ifndef MODELHUB_RUNTIME_HUB_TOKENIZER_HUB_H_
#define MODELHUB_RUNTIME_HUB_TOKENIZER_HUB_H_

// Tokenizers by name, as fairseq2's tokenizer hub: an asset card's
// `tokenizer` (a path, hg://org/name[@rev] or a URL; remote ones fetched
// through the cache, only the tokenizer files), `tokenizer_path` (a file or
// folder inside it), `tokenizer_family` and `tokenizer_config` (or
// `tokenizer_config_override(s)`, with the base/override semantics of model
// configs), and `tokenizer_ref` (use another card's tokenizer). Each family
// has a typed config and a typed hub: get_qwen_tokenizer_hub(), ...

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/assets/asset_card.h"
#include "runtime/assets/asset_store.h"
#include "runtime/tokenizers/tokenizer.h"

namespace modelhub {

// fairseq2's QwenTokenizerConfig: use_im_end makes <|im_end|> the end of
// sequence (instruct models) instead of <|endoftext|>.
struct QwenTokenizerConfig {
  bool use_im_end = false;
};

// fairseq2's LLaMATokenizerConfig. `impl` chooses the file of a folder:
// "hg" tokenizer.json, "tiktoken" or "sp" tokenizer.model; "" (modelhub's
// default) takes tokenizer.json when there is one. use_eot makes <|eot_id|>
// the end of sequence (Llama 3 instruct). split_regex (a custom tiktoken
// pattern) is refused: modelhub does not support it.
struct LlamaTokenizerConfig {
  std::string impl;
  bool use_eot = false;
  std::string split_regex;
};

// Mistral's tokenizer has no options.
struct MistralTokenizerConfig {};

// fairseq2's "hg" family: any Hugging Face tokenizer, as its files say.
struct HgTokenizerConfig {};

// How a tokenizer is fetched.
struct TokenizerLoadOptions {
  bool offline = false;   // no network: the cache or AssetDownloadError (HF_HUB_OFFLINE too)
  bool progress = false;  // download progress on stderr
};

// The typed entry point to one tokenizer family (fairseq2's TokenizerHub).
template <typename ConfigT>
class TokenizerHub {
 public:
  explicit TokenizerHub(std::string family) : family_(std::move(family)) {}

  const std::string& family_name() const { return family_; }

  // The cards of the default store whose tokenizer_family is this family.
  std::vector<std::shared_ptr<const AssetCard>> iter_cards() const;

  // The tokenizer config of card `name`: the defaults with the card's
  // overrides. TokenizerNotKnownError, AssetCardError (another family),
  // ConfigError (an unknown key or a bad value, naming the card's file and line).
  ConfigT get_tokenizer_config(std::string_view name) const;

  // Loads the tokenizer of card `name` (fetched first when remote), with
  // `config` in place of the card's when given. Throws TokenizerNotKnownError,
  // TokenizerGatedError, AssetCardError, ConfigError, AssetDownloadError,
  // TokenizerLoadError.
  std::shared_ptr<Tokenizer> load_tokenizer(
      std::string_view name, const TokenizerLoadOptions& options = {},
      const std::optional<ConfigT>& config = std::nullopt) const;

  // Opens the tokenizer at `path` (see OpenTokenizer) with `config`.
  std::shared_ptr<Tokenizer> load_custom_tokenizer(const std::string& path,
                                                   const ConfigT& config = {}) const;

 private:
  std::string family_;
};

TokenizerHub<QwenTokenizerConfig> get_qwen_tokenizer_hub();
TokenizerHub<LlamaTokenizerConfig> get_llama_tokenizer_hub();
TokenizerHub<MistralTokenizerConfig> get_mistral_tokenizer_hub();
TokenizerHub<HgTokenizerConfig> get_hg_tokenizer_hub();

// The tokenizer families there are.
std::vector<std::string> TokenizerFamilyNames();

// Loads the tokenizer of card `name`, whatever its family (fairseq2's global
// load_tokenizer). Throws as TokenizerHub::load_tokenizer, and
// TokenizerFamilyNotKnownError.
std::shared_ptr<Tokenizer> load_tokenizer(std::string_view name,
                                          const TokenizerLoadOptions& options = {});

// The same for a card at hand; a `tokenizer_ref` is looked up in `store`
// (default: DefaultAssetStore()).
std::shared_ptr<Tokenizer> LoadTokenizerFromCard(const AssetCard& card,
                                                 const TokenizerLoadOptions& options = {},
                                                 const AssetStore* store = nullptr);

// The card that holds the tokenizer of `card`: `card`, or the card its
// `tokenizer_ref` names in `store` (followed). AssetCardError for a name that
// no card has, or a circle.
const AssetCard& ResolveTokenizerCard(const AssetCard& card, const AssetStore& store);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_HUB_TOKENIZER_HUB_H_
