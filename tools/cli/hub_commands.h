#ifndef MODELHUB_TOOLS_CLI_HUB_COMMANDS_H_
#define MODELHUB_TOOLS_CLI_HUB_COMMANDS_H_

// `modelhub hub list|help` and card repositories for the model commands:
// torch.hub's list/help/load on repositories of asset cards.

#include <ostream>
#include <string>
#include <vector>

#include "runtime/hub/card_repository.h"

namespace modelhub::cli {

// The command-line options that say how a card repository is opened.
struct RepoArgs {
  std::string source = "github";  // or "local"
  bool trust = false;
  bool force_reload = false;
  bool skip_validation = false;
};

// `args` as CardRepositoryOptions (log on stderr, the terminal asked).
// UsageError for a --source other than github or local.
CardRepositoryOptions RepoOptions(const RepoArgs& args);

// `modelhub hub list REPO`: one line per card of the repository, as `modelhub
// list` prints them (name, family, arch, checkpoint).
void ListRepoCards(const std::string& repo, const RepoArgs& args, std::ostream& out);

// `modelhub hub help REPO NAME`: the card's `doc` (or a line saying it has
// none), then the card and its resolved config as `modelhub show` prints them.
void HelpRepoCard(const std::string& repo, const std::string& name, const RepoArgs& args,
                  std::ostream& out);

// The model named by a model command's positional arguments: NAME alone, or
// REPO NAME (a card of that repository: opened, checked to be trusted, and its
// card files added to the default store for this process). UsageError for more
// than two arguments, or repository options without a repository.
std::string ResolveModelArgs(const std::vector<std::string>& positional, const RepoArgs& args);

}  // namespace modelhub::cli

#endif  // MODELHUB_TOOLS_CLI_HUB_COMMANDS_H_
