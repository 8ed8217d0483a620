#ifndef MODELHUB_RUNTIME_ASSETS_ASSET_CARD_H_
#define MODELHUB_RUNTIME_ASSETS_ASSET_CARD_H_

// A resolved asset card, as fairseq2's AssetCard: a name, the card's own
// top-level fields (its `name@user` overlay already applied) and its base card.
// Fields are looked up in the card first, then along the base chain. The card
// keeps fields raw; what they mean (model_family, ...) is for its users.
//
// Every error is an AssetCardError naming this card (the leaf, even when the
// field comes from a base), the file, line and column the field was written at,
// and what was expected.

#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/assets/config_merge.h"
#include "runtime/core/source_mark.h"

namespace modelhub {

// One top-level field of a card document, as written.
struct AssetCardField {
  std::string name;  // the key
  // The value as read, nodes carrying their positions. Shared with the store:
  // read it, or CopyYaml it before changing anything.
  YAML::Node value;
  SourceMark mark;   // where the key is written
  std::string dir;   // absolute directory of mark.file: relative paths are relative to it
  std::string card;  // the card whose document (or overlay) holds the field

  // No assignment: yaml-cpp's Node::operator= rebinds the node it shares with
  // the store (and every other holder) instead of changing the handle. Copies
  // share the node.
  AssetCardField(const AssetCardField&) = default;
  AssetCardField& operator=(const AssetCardField&) = delete;
};

// The fields from which model config overrides are read, in the order fairseq2
// tries them: the first that any card of the base chain has is used, the
// others are ignored.
inline constexpr const char* kModelConfigFields[] = {"model_config_overrides",
                                                     "model_config_override", "model_config"};

// The same for tokenizer config overrides.
inline constexpr const char* kTokenizerConfigFields[] = {
    "tokenizer_config_overrides", "tokenizer_config_override", "tokenizer_config"};

class AssetCard {
 public:
  // `fields` are the card's own fields (without `name`), `mark` where its
  // document starts, `source` the label of the store source it came from.
  AssetCard(std::string name, SourceMark mark, std::string source,
            std::vector<AssetCardField> fields, std::shared_ptr<const AssetCard> base);

  const std::string& name() const { return name_; }
  // Where the card's document starts (its first key).
  const SourceMark& mark() const { return mark_; }
  // Label of the store source holding the card ("built-in", "user", ...).
  const std::string& source() const { return source_; }
  // The card named by `base`, or nullptr.
  const AssetCard* base() const { return base_.get(); }
  // This card's own fields in document order, overlay fields in place of the
  // ones they replace; fields of bases are not included.
  const std::vector<AssetCardField>& own_fields() const { return fields_; }
  // The own field `name`, or nullptr.
  const AssetCardField* own_field(std::string_view name) const;

  // The field `name` of this card or, failing that, of the nearest base that has
  // it; nullptr when none has. A field written as null counts as present.
  const AssetCardField* find(std::string_view name) const;
  bool has(std::string_view name) const { return find(name) != nullptr; }

  // The raw value of field `name` (see AssetCardField::value). Throws
  // AssetCardError when no card of the chain has the field.
  YAML::Node field(std::string_view name) const;
  // Where field `name` is written (in a base's file when it comes from a base).
  // Throws AssetCardError when absent.
  SourceMark field_mark(std::string_view name) const;

  // The string value of field `name`, nullopt when absent. Throws AssetCardError
  // when the value is not a string (null, a number, a list, ...).
  std::optional<std::string> maybe_string(std::string_view name) const;
  // The same, but an absent field is an AssetCardError too.
  std::string string(std::string_view name) const;
  // The boolean value (true/false, YAML 1.2) of field `name`, nullopt when
  // absent; AssetCardError for any other value, `yes` included.
  std::optional<bool> maybe_bool(std::string_view name) const;

  // Resolves a field holding a checkpoint or tokenizer location (AssetCardError
  // when absent, not a string, or empty):
  // - a URI with a scheme other than file (hg://org/repo, https://...) is
  //   returned as it is (see IsRemoteUri);
  // - file:///abs/path gives /abs/path (%XX decoded);
  // - an absolute path is returned normalized, without a trailing slash (as
  //   fairseq2's Path() reads it; so are the paths below);
  // - a relative path is taken relative to the directory of the file that
  //   defines the field (a base's or an overlay's file, not necessarily this
  //   card's) and returned absolute and normalized.
  std::string ResolvePath(std::string_view name) const;

  // The `checkpoint_path` field: a path inside the downloaded checkpoint archive
  // or folder, normalized ("a/./b/" -> "a/b", "" -> "."); nullopt when absent.
  // AssetCardError when it is not a string, is absolute, or climbs out with "..".
  std::optional<std::string> checkpoint_path() const;
  // The same for any such field, e.g. `tokenizer_path`.
  std::optional<std::string> path_inside(std::string_view name) const;

  // The `checkpoint_sha256` field: the SHA-256 (64 hex digits) the downloaded
  // checkpoint file must have, as a single string, or a map from file (a repo
  // path for hg://, the file name of a URL) to hash; returned as that map, the
  // single hash under the key "". Empty when absent. AssetCardError for any
  // other shape or a value that is not a SHA-256.
  std::map<std::string, std::string> checkpoint_sha256() const;

  // The model config overrides to apply over the architecture's config, in the
  // order to apply them: root base first, this card last. As fairseq2: the first
  // of kModelConfigFields that any card of the chain has (non-null) is read from
  // every card of the chain that has it; the other fields are ignored. Empty when
  // no card has any. Apply them with ApplyConfigOverrides.
  std::vector<ConfigOverride> model_config_overrides() const;
  // The same for the tokenizer config (kTokenizerConfigFields).
  std::vector<ConfigOverride> tokenizer_config_overrides() const;

 private:
  // The overrides of the first of `fields` that any card of the chain has.
  std::vector<ConfigOverride> config_overrides(const char* const (&fields)[3]) const;
  // The field `name` (found as find() does); AssetCardError when absent.
  const AssetCardField& Require(std::string_view name) const;
  [[noreturn]] void Fail(const AssetCardField& field, const std::string& message) const;

  std::string name_;
  SourceMark mark_;
  std::string source_;
  std::vector<AssetCardField> fields_;
  std::shared_ptr<const AssetCard> base_;
};

// True when `uri` starts with a URI scheme (RFC 3986: a letter, then letters,
// digits, '+', '-' or '.', then ':') other than "file": hg://..., https://....
bool IsRemoteUri(std::string_view uri);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_ASSETS_ASSET_CARD_H_
