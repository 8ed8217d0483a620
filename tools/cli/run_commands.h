#ifndef MODELHUB_TOOLS_CLI_RUN_COMMANDS_H_
#define MODELHUB_TOOLS_CLI_RUN_COMMANDS_H_

#include <cstdint>
#include <optional>
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
  // A tokenizer file or folder for --prompt, instead of the model's own.
  std::string tokenizer;
};

// What a model command runs on: token ids ("1,2,3"), or text.
struct ModelInput {
  std::string tokens;
  std::optional<std::string> prompt;
};

// What `generate` is asked for.
struct GenerateRequest {
  int64_t max_new_tokens = 16;
  SamplingOptions sampling;
  std::vector<int64_t> stop_tokens;  // besides the tokenizer's, with a prompt
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

// `source` with a remote name (hg://org/name[@revision], an http(s) URL)
// fetched into the cache and given as the checkpoint instead, as
// from_pretrained("org/name") does; other sources as they are.
ModelSource LocalizeSource(const ModelSource& source);

// Checks a model command line before anything is loaded: a card name, a
// checkpoint or a remote repo (hg://, URL: fetched then) given once; token ids
// or a prompt given once; for `request` (when given) a count and sampling
// options that make sense. UsageError otherwise.
void CheckModelCommand(const ModelSource& source, const ModelInput& input,
                       const GenerateRequest* request);

// `modelhub forward`: loads the model, runs the input through it (a prompt
// encoded with its special tokens) and prints the five most likely next
// tokens (id, probability, logit; and the token's text with a prompt). With `out_file`
// (checked first, see CheckOutputFile), writes a safetensors file holding
// `logits`, float32 [tokens, vocab], through a temporary sibling renamed into
// place: a write failure is a modelhub::Error naming the path and leaves no
// file there.
void RunForward(const ModelSource& source, const ModelInput& input, const std::string& out_file,
                std::ostream& out);

// `modelhub generate`: loads the model and decodes up to max_new_tokens after
// the input (KV cache; greedy unless sampling says otherwise), stopping after
// a stop token. With token ids, `out` gets what was loaded, the timing, and
// last the new token ids, comma separated. With a prompt, `out` gets only the
// continuation, streamed as it is generated (the tokenizer's end of sequence
// and end of turn stop it and are not printed), and `log` the rest. A request
// longer than the model's max_seq_len is a UsageError before the model loads.
void RunGenerate(const ModelSource& source, const ModelInput& input, const GenerateRequest& request,
                 std::ostream& out, std::ostream& log);

}  // namespace modelhub::cli

#endif  // MODELHUB_TOOLS_CLI_RUN_COMMANDS_H_
