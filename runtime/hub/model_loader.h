#ifndef MODELHUB_RUNTIME_HUB_MODEL_LOADER_H_
#define MODELHUB_RUNTIME_HUB_MODEL_LOADER_H_

// Models by name: asset cards resolved into a family, an arch and a config
// (fairseq2's semantics), and their checkpoints loaded. The typed ModelHub and
// the CLI are thin layers over these functions.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/assets/asset_card.h"
#include "runtime/assets/asset_store.h"
#include "runtime/hub/checkpoint_fetch.h"
#include "runtime/hub/checkpoint_loader.h"
#include "runtime/hub/model_family.h"
#include "runtime/models/decoder_model.h"

namespace modelhub {

// The folder of the built-in cards (cards/ in the runfiles of the running
// binary or test), or "" when it cannot be found.
std::string BuiltinCardsDir();

// Adds card files or folders to the default store (after the built-in, system
// and user sources). Call before the first use of DefaultAssetStore().
void AddExtraAssetPaths(const std::vector<std::string>& paths);

// The sources of the default store: built-in cards, $MODELHUB_ASSET_DIR,
// $MODELHUB_USER_ASSET_DIR (see AssetStore::DefaultSources), extra paths.
std::vector<AssetSource> DefaultAssetSources();

// The process-wide store: built-in cards, $MODELHUB_ASSET_DIR,
// $MODELHUB_USER_ASSET_DIR (see AssetStore::DefaultSources), extra paths.
// Created on first use; thread-safe. When the program has no built-in cards,
// card() of an unknown name says so.
const AssetStore& DefaultAssetStore();

// A card resolved for building a model.
struct ModelCardConfig {
  const ModelFamily* family = nullptr;
  std::string arch;  // canonical arch name
  std::unique_ptr<AnyConfig> config;
  // Where a top-level field of `config` got its value, for messages (see
  // LoadOptions::config_origin): the card's override (file:line:column), the
  // arch preset, or the config.json key.
  std::function<std::string(std::string_view field)> origin;
};

// The family, arch and config of a model card: the arch preset, then the
// card's model_config overrides (fairseq2's merge, `_set_`, `_del_`,
// `${env:VAR}`), validated. Throws AssetCardError (no model_family or
// model_arch; a family other than `expected_family` when that is not empty),
// ModelFamilyNotKnownError, ModelArchitectureNotKnownError, ConfigError (an
// override with an unknown field or a bad value, naming the card's file).
ModelCardConfig ResolveModelCard(const AssetCard& card, std::string_view expected_family = "");

// Where a card's checkpoint is on this machine: `checkpoint` resolved against
// the card's file, joined with `checkpoint_path`; a remote one (hg://,
// https://) fetched into the cache first, checked against the card's
// `checkpoint_sha256` (see FetchCheckpoint). Throws ModelGatedError when the
// card has no checkpoint, AssetDownloadError when fetching fails.
std::string CardCheckpointPath(const AssetCard& card, const FetchOptions& fetch = {});

// The same, with what fetching did (all zero for a local checkpoint).
FetchReport FetchCardCheckpoint(const AssetCard& card, const FetchOptions& fetch = {});

// Loads the model of `card` with its checkpoint. `config`, when given, replaces
// the card's config. Throws what ResolveModelCard, CardCheckpointPath and
// LoadCheckpoint throw; a size the checkpoint contradicts names the card's
// field and line (or its arch preset) unless options.config_origin is set.
std::shared_ptr<DecoderModel> LoadModelFromCard(const AssetCard& card,
                                                const ModelPlacement& placement,
                                                const LoadOptions& options,
                                                const AnyConfig* config = nullptr,
                                                std::string_view expected_family = "",
                                                LoadStats* stats = nullptr);

// Loads the model named `name` in the default store, whatever its family
// (fairseq2's global load_model). ModelNotKnownError for an unknown name.
std::shared_ptr<DecoderModel> load_model(std::string_view name,
                                         const ModelPlacement& placement = {},
                                         const LoadOptions& options = {});

// The family and config of a checkpoint given by path: from `family_name` and
// `arch` when given (`arch` required then), else from the config.json beside
// the checkpoint. Throws CorruptModelCheckpointError when neither is there.
ModelCardConfig ResolveCheckpointConfig(const std::string& path, std::string_view family_name,
                                        std::string_view arch);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_HUB_MODEL_LOADER_H_
