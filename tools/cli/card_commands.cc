#include "tools/cli/card_commands.h"

#include <filesystem>
#include <set>
#include <vector>

#include "absl/strings/str_join.h"
#include "runtime/assets/yaml_values.h"
#include "runtime/config/yaml_fields.h"
#include "runtime/core/errors.h"
#include "runtime/formats/checkpoint_files.h"
#include "runtime/formats/checkpoint_reader.h"
#include "runtime/hub/model_family_registry.h"
#include "runtime/hub/model_loader.h"
#include "tools/cli/arch_commands.h"

namespace modelhub::cli {
namespace {

// Where a card's checkpoint is, for listings ("gated" when it has none).
std::string CheckpointText(const AssetCard& card) {
  if (!card.has("checkpoint")) return "gated";
  return card.ResolvePath("checkpoint");
}

// A tensor name or metadata key as `inspect` prints it: the empty name (a
// torch.save file holding one bare tensor) shows as ''.
std::string ShownName(const std::string& name) { return name.empty() ? "''" : name; }

}  // namespace

void ListCards(const std::string& family, std::ostream& out) {
  if (!family.empty()) FamilyNamed(family);  // UsageError for an unknown family
  const AssetStore& store = DefaultAssetStore();
  for (const std::string& name : store.card_names()) {
    const AssetCard& card = store.card(name);
    std::optional<std::string> card_family = card.maybe_string("model_family");
    if (!card_family || (!family.empty() && *card_family != family)) continue;
    PrintCardLine(card, out);
  }
}

void PrintCardLine(const AssetCard& card, std::ostream& out) {
  out << card.name() << " " << card.maybe_string("model_family").value_or("-") << " "
      << card.maybe_string("model_arch").value_or("-") << " " << CheckpointText(card) << "\n";
}

void ShowCard(const std::string& name, std::ostream& out) {
  ShowCard(DefaultAssetStore().card(name), out);
}

void ShowCard(const AssetCard& card, std::ostream& out) {
  out << "# card " << card.name() << " (" << card.mark().ToString() << ", " << card.source()
      << ")\n";
  std::set<std::string> shown;
  for (const AssetCard* at = &card; at != nullptr; at = at->base()) {
    for (const AssetCardField& field : at->own_fields()) {
      if (!shown.insert(field.name).second) continue;
      YAML::Node single(YAML::NodeType::Map);
      single[field.name] = CopyYaml(field.value);
      std::string text = EmitYaml(single);
      while (!text.empty() && text.back() == '\n') text.pop_back();
      out << text << (at != &card ? "  # from " + at->name() : "") << "\n";
    }
  }
  ModelCardConfig resolved = ResolveModelCard(card);
  out << "---\n# " << resolved.family->name() << " " << resolved.arch << " ("
      << resolved.config->type_name() << ")\n"
      << EmitYaml(resolved.config->ToYaml()) << "\n";
}

void InspectCheckpoint(const std::string& path, bool restrict, std::ostream& out) {
  CheckpointReader reader(FindCheckpointFiles(path), ReadStrategy::kPread,
                          TorchLoadOptions{restrict});
  for (const auto& file : reader.opened()) {
    out << "# " << std::filesystem::path(file->path()).filename().string() << ": " << file->format()
        << ", " << file->entries().size() << " tensors\n";
    for (const auto& [key, value] : file->metadata()) {
      out << "#   " << ShownName(key) << ": " << value << "\n";
    }
  }
  for (const CheckpointTensor& tensor : reader.tensors()) {
    const TensorEntry& entry = tensor.entry();
    out << ShownName(tensor.name) << " " << TensorDtypeName(entry.dtype) << " ["
        << absl::StrJoin(entry.shape, ", ") << "] " << entry.nbytes() << " "
        << std::filesystem::path(tensor.parts.front().file->path()).filename().string();
    if (tensor.parts.size() > 1) out << " (+" << tensor.parts.size() - 1 << " rank files)";
    out << "\n";
  }
  out << reader.tensors().size() << " tensors, " << reader.total_bytes() << " bytes in "
      << reader.files().tensor_files.size() << " file(s)";
  if (reader.files().config_json) out << "; config.json present";
  out << "\n";
}

}  // namespace modelhub::cli
