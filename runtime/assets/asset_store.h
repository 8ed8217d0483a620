#ifndef MODELHUB_RUNTIME_ASSETS_ASSET_STORE_H_
#define MODELHUB_RUNTIME_ASSETS_ASSET_STORE_H_

// The asset store, as fairseq2's StandardAssetStore: card documents read from
// an ordered list of sources, resolved into AssetCards on lookup.
//
// Card files are YAML, several documents per file separated by `---`; empty
// documents are skipped. Each document is a map with a string `name` (and an
// optional string `base`). A name `x@env` makes the document an overlay of card
// `x` for environment `env`: looking `x` up merges the `x@user` overlay over
// `x`'s document shallowly (its top-level keys replace `x`'s, `base` included),
// and the cards of `x`'s base chain get their own overlays the same way. An
// overlay without its card is not a card. A name may be given once over all
// sources (overlays included): a second definition is an error naming both.

#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/assets/asset_card.h"
#include "runtime/core/source_mark.h"

namespace modelhub {

// One place cards are read from.
struct AssetSource {
  std::string label;  // "built-in", "system", "user", "extra", ...: shown in errors
  // A directory, walked recursively for *.yaml and *.yml files (in sorted order),
  // or a single file read whatever its name.
  std::string path;
};

class AssetStore {
 public:
  // Reads every document of every source. Throws AssetNotFoundError(path) for a
  // source path that does not exist, and AssetCardError (naming the file, line
  // and what was expected) for YAML that does not parse, a map key given twice,
  // a document that is not a map, a missing, empty or malformed `name` (not a
  // string; more than one '@'; nothing before '@'), a `base` that is not a
  // string or names an overlay, and a name defined twice. Bases are checked on
  // lookup, as fairseq2 does, so one broken card leaves the others usable.
  explicit AssetStore(std::vector<AssetSource> sources);
  // The same; makes AssetStore({{"user", "/some/dir"}}) unambiguous.
  explicit AssetStore(std::initializer_list<AssetSource> sources)
      : AssetStore(std::vector<AssetSource>(sources)) {}

  // The sources of the default store, in order:
  // - "built-in": `builtin_dir`, unless empty;
  // - "system": $MODELHUB_ASSET_DIR when set and present, else /etc/modelhub/assets;
  //   skipped when missing;
  // - "user": $MODELHUB_USER_ASSET_DIR when set and present, else
  //   $XDG_CONFIG_HOME/modelhub/assets when XDG_CONFIG_HOME is set, else
  //   $HOME/.config/modelhub/assets; skipped when missing;
  // - "extra": each of `extra_paths` (directories or files), which must exist.
  static std::vector<AssetSource> DefaultSources(const std::string& builtin_dir,
                                                 const std::vector<std::string>& extra_paths);
  // AssetStore(DefaultSources(builtin_dir, extra_paths)).
  static AssetStore Default(const std::string& builtin_dir,
                            const std::vector<std::string>& extra_paths = {});

  // The card `name`, resolved and cached. `name` applies the `name@user`
  // overlays; `name@env` applies the `@env` overlays instead, and `name@` none.
  // nullptr when no card has that name. Throws AssetCardError when the card's
  // base chain names a card that does not exist or loops.
  std::shared_ptr<const AssetCard> maybe_retrieve_card(std::string_view name) const;
  // The same, but an unknown name throws AssetNotFoundError(name) (fairseq2's).
  std::shared_ptr<const AssetCard> retrieve_card(std::string_view name) const;
  // The same, but an unknown name throws ModelNotKnownError(name), for model
  // lookups. The card lives as long as the store.
  const AssetCard& card(std::string_view name) const;

  // The names of all cards, sorted, overlays left out.
  std::vector<std::string> card_names() const;
  // The cards (overlays applied, in name order) whose field `field`, looked up
  // through their bases, is the string `value`. Throws as retrieve_card does for
  // a card that cannot be resolved.
  std::vector<std::shared_ptr<const AssetCard>> find_cards(std::string_view field,
                                                           std::string_view value) const;

  const std::vector<AssetSource>& sources() const { return sources_; }

 private:
  // One card document or overlay, as read.
  struct Document {
    std::string name;  // without the environment
    std::string env;   // "" for a card, the environment for an overlay
    std::string source;
    SourceMark mark;
    std::vector<AssetCardField> fields;
  };

  void LoadSource(const AssetSource& source);
  void LoadFile(const std::string& file, const std::string& label);
  void Add(Document document);
  // Resolves card `name` with the overlays of `envs`. `leaf` is the card first
  // asked for, `chain` the cards being resolved below it, `referrer` the `base`
  // field that names `name` (nullptr for the leaf). Requires mutex_ held.
  std::shared_ptr<const AssetCard> Resolve(const std::string& name,
                                           const std::vector<std::string>& envs,
                                           const std::string& leaf, std::vector<std::string>* chain,
                                           const AssetCardField* referrer) const;

  std::vector<AssetSource> sources_;
  // Keyed by "name@" for cards and "name@env" for overlays, as fairseq2.
  std::map<std::string, Document, std::less<>> documents_;
  std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
  // Resolved cards by name and environments.
  mutable std::map<std::string, std::shared_ptr<const AssetCard>, std::less<>> cache_;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_ASSETS_ASSET_STORE_H_
