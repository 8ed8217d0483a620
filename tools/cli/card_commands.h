#ifndef MODELHUB_TOOLS_CLI_CARD_COMMANDS_H_
#define MODELHUB_TOOLS_CLI_CARD_COMMANDS_H_

#include <ostream>
#include <string>

#include "runtime/assets/asset_card.h"

namespace modelhub::cli {

// `modelhub list [--family F]`: one model card per line: name, family, arch,
// and where its checkpoint is (or "gated").
void ListCards(const std::string& family, std::ostream& out);

// One line of `modelhub list` for a model card: name, family, arch, checkpoint.
void PrintCardLine(const AssetCard& card, std::ostream& out);

// `modelhub show NAME`: the card's fields (base chain resolved, leaf first),
// then its resolved config as YAML with the family's field names.
void ShowCard(const std::string& name, std::ostream& out);
void ShowCard(const AssetCard& card, std::ostream& out);

// `modelhub inspect PATH`: each file's format and metadata (a torch.save
// wrapper's other keys), every tensor (name, dtype, shape, bytes, file), read
// from indexes only, then totals. `restrict` as in LoadOptions.
void InspectCheckpoint(const std::string& path, bool restrict, std::ostream& out);

}  // namespace modelhub::cli

#endif  // MODELHUB_TOOLS_CLI_CARD_COMMANDS_H_
