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
//
// Card files come from strangers, so reading them is bounded (each limit is an
// AssetCardError naming the file and line): see the kMax... constants below.
// Every document is checked before any of its values is used, so that the
// recursive walks of cards, config merges and typed configs stay within
// kMaxCardNesting levels and kMaxCardExpansion(size) nodes.

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/assets/asset_card.h"
#include "runtime/core/source_mark.h"

namespace modelhub {

// A card file may hold at most this many bytes (1 MiB; fairseq2's largest card
// file holds 20 KB); a longer one is refused before it is parsed. yaml-cpp
// spends about 500 bytes and a few microseconds on each node it builds, so a
// file of 1 MiB takes at most about 250 MB and 2 s to parse.
inline constexpr uint64_t kMaxCardFileBytes = uint64_t{1} << 20;
// Maps and lists may nest at most this deep (a document's top-level map is
// level 1). yaml-cpp's parser itself stops at a depth of about 500 to 2,000.
inline constexpr size_t kMaxCardNesting = 100;
// The size the documents of a file of `bytes` bytes may expand to, counting
// one for every node and one for every byte of scalar text each time they are
// visited: a node an alias (`*x`) refers to counts again at every use, so a
// "billion laughs" file of a few hundred bytes is refused while any file
// without aliases (at most about 1.5 per byte) is not.
constexpr uint64_t kMaxCardExpansion(uint64_t bytes) { return 100'000 + 2 * bytes; }
// A card's base chain may hold at most this many cards below it.
inline constexpr size_t kMaxBaseChain = 100;

// The bytes of card file `file`: AssetNotFoundError when it does not exist,
// AssetCardError when it cannot be read or holds more than kMaxCardFileBytes.
std::string ReadCardFile(const std::string& file);

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
  // string or names an overlay, and a name defined twice. As fairseq2's YAML
  // loader (ruamel.yaml, safe): map keys must be scalars, tags other than the
  // YAML 1.2 core ones (`!!python/object:...`) are refused (see CheckYamlTag),
  // and an alias may not refer to a node that contains it. Beyond that, the
  // limits above. Bases are checked on lookup, as fairseq2 does, so one broken
  // card leaves the others usable.
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
  // base chain names a card that does not exist, loops or holds more than
  // kMaxBaseChain cards below the card. Linear in the length of the chain.
  std::shared_ptr<const AssetCard> maybe_retrieve_card(std::string_view name) const;
  // The same, but an unknown name throws AssetNotFoundError(name) (fairseq2's).
  std::shared_ptr<const AssetCard> retrieve_card(std::string_view name) const;
  // The same, but an unknown name throws ModelNotKnownError(name), with the
  // hint set by set_unknown_name_hint or else the closest card names ("did you
  // mean: ..."), for model lookups. The card lives as
  // long as the store.
  const AssetCard& card(std::string_view name) const;
  // What card() adds to its ModelNotKnownError, such as why a source a user may
  // expect is missing (a program that found no built-in cards). Empty: nothing.
  void set_unknown_name_hint(std::string hint) { unknown_name_hint_ = std::move(hint); }

  // The names of all cards, sorted, overlays left out.
  std::vector<std::string> card_names() const;
  // The same for the cards read from sources labelled `label`.
  std::vector<std::string> card_names(std::string_view label) const;
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
  // Card `name` with the overlays of `envs`, resolved with its base chain and
  // cached; nullptr when there is no such card. Requires mutex_ held.
  std::shared_ptr<const AssetCard> Resolve(const std::string& name,
                                           const std::vector<std::string>& envs) const;
  // The fields of card `document` with the overlay of the first of `envs` that
  // has one applied.
  std::vector<AssetCardField> FieldsOf(const Document& document,
                                       const std::vector<std::string>& envs) const;

  std::vector<AssetSource> sources_;
  std::string unknown_name_hint_;
  // Keyed by "name@" for cards and "name@env" for overlays, as fairseq2.
  std::map<std::string, Document, std::less<>> documents_;
  std::unique_ptr<std::mutex> mutex_ = std::make_unique<std::mutex>();
  // Resolved cards by name and environments.
  mutable std::map<std::string, std::shared_ptr<const AssetCard>, std::less<>> cache_;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_ASSETS_ASSET_STORE_H_
