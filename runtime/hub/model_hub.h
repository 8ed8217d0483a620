#ifndef MODELHUB_RUNTIME_HUB_MODEL_HUB_H_
#define MODELHUB_RUNTIME_HUB_MODEL_HUB_H_

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>

#include "runtime/hub/checkpoint_loader.h"
#include "runtime/hub/checkpoint_saver.h"
#include "runtime/hub/model_loader.h"
#include "runtime/hub/typed_model_family.h"
#include "runtime/models/decoder_model.h"

namespace modelhub {

// The typed entry point to one model family, mirroring fairseq2's ModelHub:
// obtain it from the family's accessor (get_qwen_model_hub(), ...). Cheap to
// copy; it refers to the registered family. Methods keep fairseq2's
// snake_case names; fairseq2's keyword arguments are option structs:
// ModelPlacement (where a model is created), LoadOptions (how a checkpoint is
// read), SaveOptions (how it is written).
template <typename ModelT, typename ConfigT>
class ModelHub {
  // ModelT is a parameter for parity with fairseq2; every family so far builds
  // the shared DecoderModel.
  static_assert(std::is_same_v<ModelT, DecoderModel>, "modelhub families build DecoderModel");

 public:
  explicit ModelHub(const TypedModelFamily<ConfigT>& family) : family_(&family) {}

  // The family's name, e.g. "qwen".
  const std::string& family_name() const { return family_->name(); }

  // The family's canonical arch names.
  std::set<std::string> get_archs() const {
    std::vector<std::string> names = family_->arch_names();
    return std::set<std::string>(names.begin(), names.end());
  }

  // The preset config of `arch` (a name or an alias); throws
  // ModelArchitectureNotKnownError(arch, family) naming the closest archs.
  ConfigT get_arch_config(std::string_view arch) const { return family_->GetTypedArchConfig(arch); }

  // The preset config of `arch`, or nullopt.
  std::optional<ConfigT> maybe_get_arch_config(std::string_view arch) const {
    return family_->MaybeGetTypedArchConfig(arch);
  }

  // Creates a model with newly initialized weights (or, with placement.meta,
  // none at all) at `placement` (default: CPU, LibTorch's default dtype).
  // Validates `config` first (ConfigError), and refuses with a ConfigError
  // giving the sizes and bytes a model larger than this machine's memory (RAM
  // and swap), before allocating anything.
  std::shared_ptr<ModelT> create_new_model(const ConfigT& config,
                                           const ModelPlacement& placement = {}) const {
    return family_->CreateNewModel(TypedConfig<ConfigT>(config), placement);
  }

  // The model cards of this family in the default store (overlays applied).
  std::vector<std::shared_ptr<const AssetCard>> iter_cards() const {
    return DefaultAssetStore().find_cards("model_family", family_name());
  }

  // The config of the model card `name` (or `card`): its arch preset with the
  // card's overrides. ModelNotKnownError for an unknown name, AssetCardError for
  // a card of another family, ConfigError for a bad override.
  ConfigT get_model_config(std::string_view name) const {
    return get_model_config(DefaultAssetStore().card(name));
  }
  ConfigT get_model_config(const AssetCard& card) const {
    return Typed(*ResolveModelCard(card, family_name()).config);
  }

  // Loads the model of card `name` (or `card`) with its checkpoint, which is
  // downloaded into the cache first when it is remote (hg://, https://; see
  // FetchCheckpoint; none with HF_HUB_OFFLINE=1), at `placement`. `options`
  // says how the checkpoint is read (mmap, progress bars on stderr when it is
  // a terminal, a line per downloaded file otherwise); `config` replaces the
  // card's config when given. Throws ModelNotKnownError, ModelGatedError (no
  // checkpoint), AssetCardError, AssetDownloadError,
  // CorruptModelCheckpointError (the checkpoint does not fit), ConfigError.
  std::shared_ptr<ModelT> load_model(std::string_view name, const ModelPlacement& placement = {},
                                     const LoadOptions& options = {},
                                     const std::optional<ConfigT>& config = std::nullopt) const {
    return load_model(DefaultAssetStore().card(name), placement, options, config);
  }
  std::shared_ptr<ModelT> load_model(const AssetCard& card, const ModelPlacement& placement = {},
                                     const LoadOptions& options = {},
                                     const std::optional<ConfigT>& config = std::nullopt) const {
    std::optional<TypedConfig<ConfigT>> replacement;
    if (config) replacement.emplace(*config);
    return LoadModelFromCard(card, placement, options, replacement ? &*replacement : nullptr,
                             family_name());
  }

  // Loads a checkpoint given by path (see FindCheckpointFiles: safetensors or
  // torch.save files, an index, a folder, Meta's per-rank files) into a model
  // of `config` at `placement`, reading it as `options` says (including
  // `restrict`, fairseq2's weights_only).
  std::shared_ptr<ModelT> load_custom_model(const std::string& path, const ConfigT& config,
                                            const ModelPlacement& placement = {},
                                            const LoadOptions& options = {}) const {
    return LoadCheckpoint(*family_, TypedConfig<ConfigT>(config), path, placement, options);
  }

  // Writes `model`, built from `config`, to the folder `dir` as a Hugging Face
  // checkpoint (config.json and safetensors files) that transformers, vLLM and
  // load_custom_model read back as the same model; `options` gives the stored
  // dtype (default: the model's) and the most tensor bytes per file. `dir`
  // must be absent or an empty folder; a failure leaves nothing there. Throws
  // CheckpointSaveError, TorchError (see SaveCheckpoint).
  void save_checkpoint(const ModelT& model, const ConfigT& config, const std::string& dir,
                       const SaveOptions& options = {}) const {
    SaveCheckpoint(*family_, TypedConfig<ConfigT>(config), model, dir, options);
  }

  // The tensors of the checkpoint at `path`, lazily, in the model's names and
  // RoPE layout, checked against a model of `config` (fairseq2's
  // iter_checkpoint), read as `options` says.
  CheckpointStream iter_checkpoint(const std::string& path, const ConfigT& config,
                                   const LoadOptions& options = {}) const {
    return CheckpointStream(*family_, TypedConfig<ConfigT>(config), path, options);
  }

  // The type-erased family, for the APIs that take any family.
  const ModelFamily& family() const { return *family_; }

 private:
  static const ConfigT& Typed(const AnyConfig& config) {
    return dynamic_cast<const TypedConfig<ConfigT>&>(config).value();
  }

  const TypedModelFamily<ConfigT>* family_;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_HUB_MODEL_HUB_H_
