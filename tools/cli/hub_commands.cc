#include "tools/cli/hub_commands.h"

#include "runtime/hub/model_loader.h"
#include "tools/cli/card_commands.h"
#include "tools/cli/usage_error.h"

namespace modelhub::cli {

CardRepositoryOptions RepoOptions(const RepoArgs& args) {
  CardRepositoryOptions options;
  if (args.source == "local") {
    options.source = RepoSource::kLocal;
  } else if (args.source != "github") {
    throw UsageError("--source must be github or local, not '" + args.source + "'");
  }
  options.trust = args.trust;
  options.force_reload = args.force_reload;
  options.skip_validation = args.skip_validation;
  return options;
}

void ListRepoCards(const std::string& repo, const RepoArgs& args, std::ostream& out) {
  const CardRepository repository = CardRepository::Open(repo, RepoOptions(args));
  for (const std::string& name : repository.card_names()) {
    PrintCardLine(repository.card(name), out);
  }
}

void HelpRepoCard(const std::string& repo, const std::string& name, const RepoArgs& args,
                  std::ostream& out) {
  const CardRepository repository = CardRepository::Open(repo, RepoOptions(args));
  const AssetCard& card = repository.card(name);
  const std::optional<std::string> doc = card.maybe_string("doc");
  out << (doc ? *doc : "(the card has no doc)") << "\n\n";
  ShowCard(card, out);
}

std::string ResolveModelArgs(const std::vector<std::string>& positional, const RepoArgs& args) {
  if (positional.size() > 2) {
    throw UsageError("give a model card name, or a card repository and a card name");
  }
  if (positional.size() < 2) {
    if (args.trust || args.force_reload || args.skip_validation || args.source != "github") {
      throw UsageError(
          "--trust, --force-reload, --skip-validation and --source go with a card repository "
          "(REPO NAME)");
    }
    return positional.empty() ? "" : positional[0];
  }
  const CardRepositoryOptions options = RepoOptions(args);
  const CardRepository repository = CardRepository::Open(positional[0], options);
  repository.card(positional[1]);  // ModelNotKnownError naming the repository's cards
  repository.RequireTrust(options);
  AddExtraAssetPaths(repository.card_paths());
  return positional[1];
}

}  // namespace modelhub::cli
