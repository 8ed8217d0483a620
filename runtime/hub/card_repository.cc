#include "runtime/hub/card_repository.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/assets/yaml_values.h"
#include "runtime/core/errors.h"
#include "runtime/download/github_repo.h"
#include "runtime/download/torch_hub_files.h"
#include "runtime/hub/model_loader.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;

constexpr char kHubconf[] = "hubconf.yaml";

// `path` is `dir` or below it, both as the file system resolves them (links
// followed).
bool IsInside(const fs::path& path, const fs::path& dir) {
  std::error_code error;
  const fs::path real = fs::weakly_canonical(path, error);
  if (error) return false;
  const fs::path root = fs::weakly_canonical(dir, error);
  if (error) return false;
  auto [root_end, at] = std::mismatch(root.begin(), root.end(), real.begin(), real.end());
  return root_end == root.end();
}

// The card files and folders hubconf.yaml in `dir` names.
std::vector<std::string> HubconfCardPaths(const fs::path& dir, const std::string& label) {
  const std::string file = (dir / kHubconf).string();
  const auto fail = [&](const YAML::Mark& mark, const std::string& why) {
    SourceMark at{file, mark.line + 1, mark.column + 1};
    return CardRepositoryError(label,
                               absl::StrCat(mark.is_null() ? file : at.ToString(), ": ", why));
  };
  std::string text;
  try {
    text = ReadCardFile(file);
  } catch (const AssetCardError& e) {  // unreadable, or longer than a card file may be
    throw CardRepositoryError(label, e.reason());
  }
  std::vector<YAML::Node> documents;
  try {
    documents = LoadYamlDocuments(text);
  } catch (const YAML::Exception& e) {
    throw fail(e.mark, e.msg);
  }
  if (documents.size() != 1 || !documents[0].IsMap()) {
    throw fail(documents.empty() ? YAML::Mark::null_mark() : documents[0].Mark(),
               "expected one map with the key `cards` (a list of card files or folders)");
  }
  const YAML::Node& top = documents[0];
  YAML::Node cards;
  for (const auto& entry : top) {
    const std::string key = entry.first.IsScalar() ? entry.first.Scalar() : "";
    if (key != "cards") {
      throw fail(entry.first.Mark(),
                 absl::StrCat("unknown key '", key, "' (hubconf.yaml has one key: cards)"));
    }
    cards = entry.second;
  }
  if (!cards || !cards.IsSequence() || cards.size() == 0) {
    throw fail(cards ? cards.Mark() : top.Mark(),
               "`cards` must be a list of card files or folders, relative to the repository");
  }
  std::vector<std::string> paths;
  for (size_t i = 0; i < cards.size(); ++i) {
    const YAML::Node& item = cards[i];
    const std::string where = absl::StrCat("cards[", i, "]");
    if (!IsYamlString(item) || item.Scalar().empty()) {
      throw fail(item.Mark(),
                 absl::StrCat(where, " must be a path, not ", DescribeYamlValue(item)));
    }
    const fs::path relative(item.Scalar());
    bool climbs = relative.is_absolute();
    for (const fs::path& part : relative) climbs = climbs || part == "..";
    if (climbs) {
      throw fail(item.Mark(), absl::StrCat(where, " '", item.Scalar(),
                                           "' leaves the repository (absolute or with ..)"));
    }
    const fs::path full = dir / relative;
    std::error_code error;
    if (!fs::exists(full, error)) {
      throw fail(item.Mark(),
                 absl::StrCat(where, " '", item.Scalar(), "' is not in the repository"));
    }
    if (!IsInside(full, dir)) {
      throw fail(item.Mark(), absl::StrCat(where, " '", item.Scalar(),
                                           "' is a link that leaves the repository"));
    }
    paths.push_back(full.string());
  }
  return paths;
}

// The card files and folders of the repository in `dir`.
std::vector<std::string> CardPaths(const fs::path& dir, const std::string& label) {
  std::error_code error;
  if (fs::exists(dir / kHubconf, error)) return HubconfCardPaths(dir, label);
  for (const char* folder : {"modelhub", "cards"}) {
    if (fs::is_directory(dir / folder, error) && IsInside(dir / folder, dir)) {
      return {(dir / folder).string()};
    }
  }
  throw CardRepositoryError(label, absl::StrCat("holds no cards: expected hubconf.yaml, a "
                                                "modelhub/ folder or a cards/ folder in ",
                                                dir.string()));
}

// Asks `question` on the terminal: y/yes is yes; anything else, or no
// terminal, is no.
bool AskOnTerminal(const std::string& question) {
  if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO)) return false;
  std::cerr << question << " (y/N) " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes" || answer == "Yes";
}

std::string Describe(const std::vector<std::pair<std::string, std::string>>& sources) {
  std::vector<std::string> lines;
  for (const auto& [name, source] : sources) lines.push_back(absl::StrCat(name, ": ", source));
  return lines.empty() ? "(no cards)" : absl::StrJoin(lines, "; ");
}

}  // namespace

std::string TrustedListPath() { return (fs::path(GetHubDir()) / "trusted_list").string(); }

CardRepository CardRepository::Open(std::string_view repo_or_dir,
                                    const CardRepositoryOptions& options) {
  CardRepository repository;
  if (options.source == RepoSource::kLocal) {
    std::error_code error;
    const fs::path dir = fs::absolute(fs::path(repo_or_dir), error).lexically_normal();
    if (error || !fs::is_directory(dir, error)) {
      throw CardRepositoryError(std::string(repo_or_dir), "is not a folder (source local)");
    }
    repository.dir_ = dir.string();
    if (repository.dir_.size() > 1 && repository.dir_.back() == '/') repository.dir_.pop_back();
    repository.label_ = repository.dir_;
  } else {
    const GithubRepoRef ref = ParseGithubRepoRef(repo_or_dir);
    GithubFetchOptions fetch;
    fetch.force_reload = options.force_reload;
    fetch.skip_validation = options.skip_validation;
    fetch.log = options.log;
    const FetchedGithubRepo fetched = FetchGithubRepo(ref, GithubSettingsFromEnvironment(), fetch);
    repository.dir_ = fetched.dir;
    repository.label_ = fetched.ref.ToString();
    repository.remote_ = true;
    repository.trust_name_ = absl::StrCat(ref.owner, "_", ref.repo);
  }
  std::vector<AssetSource> sources = DefaultAssetSources();
  repository.paths_ = CardPaths(repository.dir_, repository.label_);
  for (const std::string& path : repository.paths_) {
    sources.push_back({repository.label_, path});
  }
  try {
    repository.store_ = std::make_unique<AssetStore>(std::move(sources));
  } catch (const AssetCardError& e) {
    throw AssetCardError(e.name(),
                         absl::StrCat("in card repository ", repository.label_, ": ", e.reason()));
  }
  repository.names_ = repository.store_->card_names(repository.label_);
  return repository;
}

const AssetCard& CardRepository::card(std::string_view name) const {
  if (!std::binary_search(names_.begin(), names_.end(), name)) {
    throw ModelNotKnownError(
        std::string(name), absl::StrCat("card repository ", label_, " has ",
                                        names_.empty() ? "no cards" : absl::StrJoin(names_, ", ")));
  }
  return store_->card(name);
}

std::vector<std::pair<std::string, std::string>> CardRepository::CheckpointSources() const {
  std::vector<std::pair<std::string, std::string>> sources;
  for (const std::string& name : names_) {
    const AssetCard& at = card(name);
    sources.emplace_back(
        name, at.has("checkpoint") ? at.ResolvePath("checkpoint") : std::string("no checkpoint"));
  }
  return sources;
}

bool CardRepository::IsTrusted() const {
  if (!remote_) return true;
  std::ifstream in(TrustedListPath());
  std::string line;
  while (std::getline(in, line)) {
    if (absl::StripAsciiWhitespace(line) == trust_name_) return true;
  }
  return false;
}

void CardRepository::RequireTrust(const CardRepositoryOptions& options) const {
  if (IsTrusted()) return;
  const std::string sources = Describe(CheckpointSources());
  const std::string list = TrustedListPath();
  if (!options.trust) {
    const std::string question = absl::StrCat("Card repository ", label_, " is not in ", list,
                                              ". Its cards take checkpoints from: ", sources,
                                              ". Trust it and add it to the list?");
    const bool yes = options.confirm ? options.confirm(question) : AskOnTerminal(question);
    if (!yes) {
      throw UntrustedRepositoryError(
          label_, absl::StrCat("not trusted: it is not in ", list,
                               " and its cards take checkpoints from: ", sources,
                               ". Trust it with --trust (CardRepositoryOptions::trust), or add "
                               "the line '",
                               trust_name_, "' to ", list));
    }
  }
  std::error_code error;
  fs::create_directories(fs::path(list).parent_path(), error);
  std::ofstream out(list, std::ios::app);
  out << trust_name_ << "\n";
  out.flush();
  if (!out) {
    throw CardRepositoryError(label_, absl::StrCat("cannot add it to ", list));
  }
  if (options.log != nullptr) {
    *options.log << "Trusting card repository " << label_ << " (added to " << list
                 << "); its cards take checkpoints from: " << sources << "\n";
  }
}

std::shared_ptr<DecoderModel> load_model(std::string_view repo_or_dir, std::string_view name,
                                         const CardRepositoryOptions& repo,
                                         const ModelPlacement& placement,
                                         const LoadOptions& options) {
  const CardRepository repository = CardRepository::Open(repo_or_dir, repo);
  repository.RequireTrust(repo);
  return LoadModelFromCard(repository.card(name), placement, options);
}

}  // namespace modelhub
