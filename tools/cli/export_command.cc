#include "tools/cli/export_command.h"

#include <cstring>
#include <limits>
#include <memory>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "runtime/hub/checkpoint_loader.h"
#include "runtime/hub/checkpoint_saver.h"
#include "runtime/hub/model_loader.h"
#include "tools/cli/device_options.h"
#include "tools/cli/run_commands.h"
#include "tools/cli/usage_error.h"

namespace modelhub::cli {

uint64_t ParseByteSize(const std::string& text) {
  static constexpr std::pair<const char*, uint64_t> kUnits[] = {
      {"KiB", uint64_t{1} << 10}, {"MiB", uint64_t{1} << 20},
      {"GiB", uint64_t{1} << 30}, {"KB", 1'000},
      {"MB", 1'000'000},          {"GB", 1'000'000'000},
  };
  std::string count_text = text;
  uint64_t unit = 1;
  for (const auto& [suffix, size] : kUnits) {
    if (absl::EndsWithIgnoreCase(text, suffix)) {
      count_text = text.substr(0, text.size() - std::strlen(suffix));
      unit = size;
      break;
    }
  }
  uint64_t count = 0;
  if (!absl::SimpleAtoi(count_text, &count) || count == 0 ||
      count > std::numeric_limits<uint64_t>::max() / unit) {
    throw UsageError("--max-shard-size must be a positive size like 5GB, 500MB or 1000000, not '" +
                     text + "'");
  }
  return count * unit;
}

void RunExport(const ModelSource& given, const std::string& dir, const std::string& max_shard_size,
               const std::string& dtype, std::ostream& out) {
  if (given.name.empty() == given.checkpoint.empty()) {
    throw UsageError("name a model card (or hg://org/name), or give --checkpoint PATH (not both)");
  }
  SaveOptions options;
  options.max_shard_bytes = ParseByteSize(max_shard_size);
  const c10::ScalarType type = ParseDtype(dtype);
  CheckSaveDestination(dir);
  const ModelSource source = LocalizeSource(given);
  const ModelPlacement placement{std::nullopt, type};
  ModelCardConfig resolved;
  std::shared_ptr<DecoderModel> model;
  if (!source.name.empty()) {
    const AssetCard& card = DefaultAssetStore().card(source.name);
    resolved = ResolveModelCard(card);
    model = LoadModelFromCard(card, placement, LoadOptions{}, resolved.config.get());
  } else {
    resolved = ResolveCheckpointConfig(source.checkpoint, source.family, source.arch);
    LoadOptions load;
    load.label = source.checkpoint;
    load.config_origin = resolved.origin;
    model = LoadCheckpoint(*resolved.family, *resolved.config, source.checkpoint, placement, load);
  }
  SaveCheckpoint(*resolved.family, *resolved.config, *model, dir, options);
  out << "exported " << (given.name.empty() ? given.checkpoint : given.name) << " ("
      << resolved.family->name() << " " << resolved.arch << ", " << model->num_parameters()
      << " parameters, " << DtypeName(type) << ") to " << dir << "\n";
}

}  // namespace modelhub::cli
