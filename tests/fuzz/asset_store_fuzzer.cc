// Fuzzes asset cards end to end: the input is a card file (several documents,
// bases, overlays, anchors and aliases), read into a store; every card is
// resolved through its bases and overlays, and every model card's config is
// built (arch preset, then model_config overrides with _set_, _del_ and
// ${env:...}) and validated, as `modelhub show` does.

#include <cstdint>

#include "runtime/assets/asset_store.h"
#include "runtime/hub/model_loader.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace modelhub;
  const std::string path = fuzz::WriteScratchFile("cards.yaml", fuzz::AsText(data, size));
  fuzz::ExpectOnly([&] {
    const AssetStore store({{"fuzz", path}});
    for (const std::string& name : store.card_names()) {
      fuzz::ExpectOnly([&] {
        const auto card = store.retrieve_card(name);
        if (!card->has("model_family")) return;
        const ModelCardConfig resolved = ResolveModelCard(*card);
        resolved.config->ToYaml();
        resolved.config->ToBlueprint();
      });
    }
  });
  return 0;
}
