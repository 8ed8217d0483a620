#ifndef MODELHUB_TOOLS_CLI_RUN_COMMANDS_H_
#define MODELHUB_TOOLS_CLI_RUN_COMMANDS_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "runtime/hub/model_family.h"
#include "runtime/models/generate.h"

namespace modelhub::cli {

// Which model a command runs, and where: a card name, or a checkpoint path
// (its family and arch from config.json, or from family/arch when given).
struct ModelSource {
  std::string name;
  std::string checkpoint;
  std::string family;
  std::string arch;
  std::string device = "cpu";
  std::string dtype = "float32";
  bool mmap = false;
};

// A run of a model command: where the model goes (with the gangs of a
// torchrun launch, if any) and where results are printed (rank 0's output;
// other ranks print nothing).
struct RunContext {
  ModelPlacement placement;
  std::ostream* out = nullptr;
};

// Forms the gangs of the launch this process is part of (one process when
// none: see SetupGangsFromEnvironment), every rank one tensor-parallel gang,
// and checks that every rank runs the same model, dtype and device type
// (GangError naming both values otherwise). UsageError for a meta device or a
// card name and a checkpoint given together (or neither).
RunContext StartRun(const ModelSource& source, std::ostream& out);

// Parses "1,2,3" (UsageError when empty or not integers).
std::vector<int64_t> ParseTokens(const std::string& text);

// The inverse of ParseTokens: "1,2,3".
std::string FormatTokens(const std::vector<int64_t>& tokens);

// Refuses, before any work, an output file path that cannot be written: a
// folder, something that is not a regular file (a device, a socket), a path
// whose folder is missing, is not a folder or is not writable. Throws
// modelhub::Error "cannot write <what> to <path>: <why>".
void CheckOutputFile(const std::string& path, const std::string& what);

// `modelhub forward`: loads the model, runs `tokens` through it and prints the
// five most likely next tokens (id, probability, logit). With `out_file`
// (checked first, see CheckOutputFile), writes a safetensors file holding
// `logits`, float32 [tokens, vocab], through a temporary sibling renamed into
// place: a write failure is a modelhub::Error naming the path and leaves no
// file there.
void RunForward(const ModelSource& source, const std::string& tokens, const std::string& out_file,
                std::ostream& out);

// `modelhub generate`: loads the model and decodes `max_new_tokens` after
// `tokens` (KV cache; greedy unless sampling says otherwise). The last line
// printed is the new token ids, comma separated.
void RunGenerate(const ModelSource& source, const std::string& tokens, int64_t max_new_tokens,
                 const SamplingOptions& sampling, std::ostream& out);

}  // namespace modelhub::cli

#endif  // MODELHUB_TOOLS_CLI_RUN_COMMANDS_H_
