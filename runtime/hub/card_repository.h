#ifndef MODELHUB_RUNTIME_HUB_CARD_REPOSITORY_H_
#define MODELHUB_RUNTIME_HUB_CARD_REPOSITORY_H_

// Card repositories: torch.hub's list/help/load on a GitHub repository (or a
// local folder), without running anyone's code. The repository holds asset
// cards; modelhub fetches it as torch.hub does (see FetchGithubRepo), reads
// its cards next to the default store's, and loads models from them. Because
// a card may point its checkpoint anywhere, loading from a repository needs
// it to be trusted: listed in torch.hub's <hub dir>/trusted_list (lines
// "owner_repo", shared with Python's torch.hub), trusted by the caller, or
// confirmed by the user after seeing where its checkpoints come from.
//
// Where the cards are, in the repository's top folder: hubconf.yaml, a map
// with one key `cards`, a list of files or folders (relative, inside the
// repository); else the folder modelhub/; else the folder cards/.

#include <functional>
#include <iostream>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/assets/asset_card.h"
#include "runtime/assets/asset_store.h"
#include "runtime/hub/checkpoint_loader.h"
#include "runtime/models/decoder_model.h"

namespace modelhub {

// Where a card repository comes from (torch.hub's `source`).
enum class RepoSource {
  kGithub,  // "owner/repo[:ref]", fetched into the hub folder
  kLocal,   // a folder on this machine, read in place; always trusted
};

// How a card repository is opened and trusted.
struct CardRepositoryOptions {
  RepoSource source = RepoSource::kGithub;
  // Fetch the repository again even when its folder is in the hub folder.
  bool force_reload = false;
  // Skip checking (with two API listings) that the ref belongs to the
  // repository rather than to a fork.
  bool skip_validation = false;
  // Trust the repository (torch.hub's trust_repo=True): it is added to the
  // trusted_list without asking. Otherwise (trust_repo="check") an untrusted
  // repository is trusted only when `confirm` says yes.
  bool trust = false;
  // Asked, with a question listing where the repository's checkpoints come
  // from, whether to trust it. Default: the question on stderr and a y/N
  // answer from stdin when both are a terminal, else no.
  std::function<bool(const std::string& question)> confirm;
  // Where fetching and trusting report ("Using cache found in ...", the
  // checkpoint sources of a newly trusted repository); nullptr: nowhere.
  std::ostream* log = &std::cerr;
};

// A card repository, fetched and with its cards read.
class CardRepository {
 public:
  // Fetches (kGithub) or finds (kLocal) `repo_or_dir` and reads its cards.
  // Throws CardRepositoryError (a malformed name, an unknown ref, no cards, a
  // bad hubconf.yaml naming its line), AssetDownloadError (fetching failed),
  // AssetCardError (a card file that does not parse, naming the repository,
  // the file and the line; a card name also defined elsewhere in the store).
  static CardRepository Open(std::string_view repo_or_dir,
                             const CardRepositoryOptions& options = {});

  // "owner/repo:ref" (the ref decided) or the folder's absolute path.
  const std::string& label() const { return label_; }
  // The folder the cards are read from.
  const std::string& dir() const { return dir_; }
  // True for a GitHub repository (trust applies), false for a local folder.
  bool remote() const { return remote_; }
  // torch.hub's name for the repository in trusted_list: "owner_repo".
  const std::string& trust_name() const { return trust_name_; }

  // The card files and folders read from the repository (hubconf.yaml's
  // `cards`, or the modelhub/ or cards/ folder).
  const std::vector<std::string>& card_paths() const { return paths_; }

  // The names of the repository's cards, sorted, overlays left out
  // (torch.hub.list).
  const std::vector<std::string>& card_names() const { return names_; }
  // The repository's card `name`, resolved in store(). ModelNotKnownError,
  // listing the repository's names, for a name it does not define.
  const AssetCard& card(std::string_view name) const;
  // The default store's sources, then the repository's card files: a
  // repository card may name a built-in card as its base.
  const AssetStore& store() const { return *store_; }

  // Where each card's checkpoint comes from, by card name: a URL, hg://...,
  // a path, or "no checkpoint".
  std::vector<std::pair<std::string, std::string>> CheckpointSources() const;

  // True when the repository is local or listed in trusted_list.
  bool IsTrusted() const;
  // Returns when the repository is trusted; otherwise trusts it when
  // options.trust or options.confirm says yes (adding trust_name() to
  // trusted_list and writing CheckpointSources() to options.log), else throws
  // UntrustedRepositoryError saying where its checkpoints come from and how to
  // trust it. CardRepositoryError when trusted_list cannot be written.
  void RequireTrust(const CardRepositoryOptions& options) const;

 private:
  CardRepository() = default;

  std::string label_;
  std::string dir_;
  bool remote_ = false;
  std::string trust_name_;
  std::vector<std::string> paths_;
  std::vector<std::string> names_;
  std::unique_ptr<AssetStore> store_;
};

// The path of torch.hub's trusted_list: <GetHubDir()>/trusted_list.
std::string TrustedListPath();

// Loads model card `name` of the card repository `repo_or_dir` (torch.hub's
// load): CardRepository::Open, RequireTrust, then LoadModelFromCard. Throws
// what those throw.
std::shared_ptr<DecoderModel> load_model(std::string_view repo_or_dir, std::string_view name,
                                         const CardRepositoryOptions& repo = {},
                                         const ModelPlacement& placement = {},
                                         const LoadOptions& options = {});

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_HUB_CARD_REPOSITORY_H_
