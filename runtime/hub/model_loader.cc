#include "runtime/hub/model_loader.h"

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <system_error>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/assets/config_merge.h"
#include "runtime/core/errors.h"
#include "runtime/formats/checkpoint_files.h"
#include "runtime/hub/hf_config.h"
#include "runtime/hub/model_family_registry.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;

std::mutex& StoreMutex() {
  static std::mutex mutex;
  return mutex;
}

std::vector<std::string>& ExtraPaths() {
  static std::vector<std::string> paths;
  return paths;
}

// The runfiles folder of the running binary, or "".
std::string RunfilesDir() {
  for (const char* variable : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    const char* value = std::getenv(variable);
    if (value != nullptr && *value != '\0') return value;
  }
  std::error_code error;
  fs::path exe = fs::read_symlink("/proc/self/exe", error);
  if (error) return "";
  fs::path runfiles = exe.string() + ".runfiles";
  return fs::is_directory(runfiles, error) ? runfiles.string() : "";
}

}  // namespace

std::string BuiltinCardsDir() {
  const std::string runfiles = RunfilesDir();
  if (runfiles.empty()) return "";
  const fs::path cards = fs::path(runfiles) / "modelhub" / "cards";
  std::error_code error;  // an unreadable or overlong path: no built-in cards
  return fs::is_directory(cards, error) ? cards.string() : "";
}

void AddExtraAssetPaths(const std::vector<std::string>& paths) {
  std::lock_guard<std::mutex> lock(StoreMutex());
  ExtraPaths().insert(ExtraPaths().end(), paths.begin(), paths.end());
}

std::vector<AssetSource> DefaultAssetSources() {
  std::lock_guard<std::mutex> lock(StoreMutex());
  return AssetStore::DefaultSources(BuiltinCardsDir(), ExtraPaths());
}

const AssetStore& DefaultAssetStore() {
  std::lock_guard<std::mutex> lock(StoreMutex());
  static const AssetStore* store = [] {
    const std::string builtin = BuiltinCardsDir();
    auto* created = new AssetStore(AssetStore::Default(builtin, ExtraPaths()));
    if (builtin.empty()) {
      created->set_unknown_name_hint(
          "this program found no built-in cards: there is no cards/ folder in its runfiles "
          "(a binary moved out of bazel-bin has none; a Bazel target ships them with "
          "data = [\"@modelhub//cards\"]; MODELHUB_ASSET_DIR may name a copy)");
    }
    return created;
  }();
  return *store;
}

ModelCardConfig ResolveModelCard(const AssetCard& card, std::string_view expected_family) {
  std::optional<std::string> family_name = card.maybe_string("model_family");
  if (!family_name) {
    throw AssetCardError(card.name(),
                         absl::StrCat("card '", card.name(), "' (", card.mark().ToString(),
                                      ") has no model_family: it is not a model card"));
  }
  if (!expected_family.empty() && *family_name != expected_family) {
    throw AssetCardError(card.name(),
                         absl::StrCat("card '", card.name(), "' (", card.mark().ToString(),
                                      ") is a model of family '", *family_name, "', not '",
                                      std::string(expected_family), "'"));
  }
  ModelCardConfig result;
  result.family = &GetModelFamily(*family_name);
  std::optional<std::string> arch = card.maybe_string("model_arch");
  if (!arch) {
    throw AssetCardError(card.name(), absl::StrCat("card '", card.name(), "' (",
                                                   card.mark().ToString(), ") has no model_arch"));
  }
  result.arch = result.family->ResolveArch(*arch).value_or(*arch);
  std::unique_ptr<AnyConfig> preset = result.family->GetArchConfig(*arch);
  std::vector<ConfigOverride> overrides = card.model_config_overrides();
  if (overrides.empty()) {
    result.config = std::move(preset);
  } else {
    const YAML::Node merged = ApplyConfigOverrides(preset->ToYaml(), overrides);
    result.config = preset->NewDefault();
    const std::string what =
        absl::StrCat("card '", card.name(), "' ", overrides.back().origin.field, " (",
                     result.config->type_name(), ")");
    try {
      result.config->Merge(merged, YamlContext{what, "", "", ScalarRule::kFairseq2});
    } catch (const ConfigError& e) {
      throw ConfigError(e.config(), e.field(), FindOverrideMark(overrides, e.field()), e.reason());
    }
  }
  result.config->Validate();
  const std::string card_text =
      absl::StrCat("card '", card.name(), "' (", card.mark().ToString(), ")");
  result.origin = [overrides, card_text, arch = result.arch](std::string_view field_view) {
    const std::string field(field_view);
    const SourceMark mark = FindOverrideMark(overrides, field);
    if (mark.known()) {
      return absl::StrCat(card_text, " model_config key '", field, "' (", mark.ToString(), ")");
    }
    return absl::StrCat("the ", field, " of arch '", arch, "' of ", card_text);
  };
  return result;
}

FetchReport FetchCardCheckpoint(const AssetCard& card, const FetchOptions& fetch) {
  if (!card.has("checkpoint")) {
    throw ModelGatedError(card.name(), card.maybe_string("url").value_or(""));
  }
  const std::string checkpoint = card.ResolvePath("checkpoint");
  std::optional<std::string> inside = card.checkpoint_path();
  if (IsRemoteUri(checkpoint)) {
    return FetchCheckpoint(checkpoint, inside, card.checkpoint_sha256(), fetch);
  }
  FetchReport local;
  local.path = inside ? (fs::path(checkpoint) / *inside).lexically_normal().string() : checkpoint;
  return local;
}

std::string CardCheckpointPath(const AssetCard& card, const FetchOptions& fetch) {
  return FetchCardCheckpoint(card, fetch).path;
}

std::shared_ptr<DecoderModel> LoadModelFromCard(const AssetCard& card,
                                                const ModelPlacement& placement,
                                                const LoadOptions& options, const AnyConfig* config,
                                                std::string_view expected_family,
                                                LoadStats* stats) {
  ModelCardConfig resolved = ResolveModelCard(card, expected_family);
  FetchOptions fetch;
  fetch.offline = options.offline;
  fetch.progress = options.progress;
  const std::string path = CardCheckpointPath(card, fetch);
  LoadOptions named = options;
  if (named.label.empty()) named.label = card.name();
  if (!named.config_origin && config == nullptr) named.config_origin = resolved.origin;
  // fairseq2's `restrict` (torch.load's weights_only) may only relax, per card.
  if (card.maybe_bool("restrict") == false) named.restrict = false;
  return LoadCheckpoint(*resolved.family, config != nullptr ? *config : *resolved.config, path,
                        placement, named, stats);
}

std::shared_ptr<DecoderModel> load_model(std::string_view name, const ModelPlacement& placement,
                                         const LoadOptions& options) {
  return LoadModelFromCard(DefaultAssetStore().card(name), placement, options);
}

ModelCardConfig ResolveCheckpointConfig(const std::string& path, std::string_view family_name,
                                        std::string_view arch) {
  ModelCardConfig result;
  if (!family_name.empty() || !arch.empty()) {
    if (family_name.empty() || arch.empty()) {
      throw CorruptModelCheckpointError(path, "give both the family and the arch, or neither");
    }
    result.family = &GetModelFamily(family_name);
    result.config = result.family->GetArchConfig(arch);
    result.arch = result.family->ResolveArch(arch).value_or(std::string(arch));
    const std::string preset = absl::StrCat(std::string(family_name), " arch '", result.arch, "'");
    result.origin = [preset](std::string_view field) {
      return absl::StrCat("the ", std::string(field), " of ", preset);
    };
    return result;
  }
  CheckpointFiles files = FindCheckpointFiles(path);
  if (!files.config_json) {
    throw CorruptModelCheckpointError(
        path, "no config.json beside the checkpoint: give its family and arch");
  }
  HfModelConfig hf = ReadHfConfig(*files.config_json);
  result.family = hf.family;
  result.arch = hf.arch;
  result.config = std::move(hf.config);
  result.origin = [family = hf.family, file = *files.config_json](std::string_view field) {
    for (const HfConfigRule& rule : family->hf_config().rules) {
      if (rule.kind == HfConfigRule::Kind::kKey && field == rule.field) {
        return absl::StrCat("config.json key '", rule.keys.front(), "' (", file, ")");
      }
    }
    return absl::StrCat("the ", std::string(field), " of ", file);
  };
  return result;
}

}  // namespace modelhub
