#ifndef MODELHUB_TOOLS_CLI_EXPORT_COMMAND_H_
#define MODELHUB_TOOLS_CLI_EXPORT_COMMAND_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "tools/cli/run_commands.h"

namespace modelhub::cli {

// Parses --max-shard-size as transformers reads max_shard_size: a byte count
// ("1000000") or a whole number with a unit, KB/MB/GB (powers of 1000) or
// KiB/MiB/GiB (powers of 1024), in any case ("5GB", "500mb"). UsageError when
// it is not one, or is 0.
uint64_t ParseByteSize(const std::string& text);

// `modelhub export`: loads the model `source` names (a card, a remote repo,
// or a checkpoint) on the CPU in `dtype` and saves it to the folder `dir` as
// a Hugging Face checkpoint (SaveCheckpoint) in files of at most
// `max_shard_size` (ParseByteSize) of tensor data. Checks the command line
// and `dir` before loading anything.
void RunExport(const ModelSource& source, const std::string& dir, const std::string& max_shard_size,
               const std::string& dtype, std::ostream& out);

}  // namespace modelhub::cli

#endif  // MODELHUB_TOOLS_CLI_EXPORT_COMMAND_H_
