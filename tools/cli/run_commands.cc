#include "tools/cli/run_commands.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "runtime/assets/asset_card.h"
#include "runtime/core/errors.h"
#include "runtime/distributed/process_group_gang.h"
#include "runtime/formats/safetensors.h"
#include "runtime/hub/checkpoint_fetch.h"
#include "runtime/hub/checkpoint_loader.h"
#include "runtime/hub/model_loader.h"
#include "tools/cli/device_options.h"
#include "tools/cli/tokenizer_source.h"
#include "tools/cli/usage_error.h"

namespace modelhub::cli {
namespace {

// Output nobody sees: that of ranks other than 0.
std::ostream& Discard() {
  static std::ostream* discard = new std::ostream(nullptr);
  return *discard;
}

// "12.3 MB".
std::string Megabytes(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MB", static_cast<double>(bytes) / 1e6);
  return text;
}

}  // namespace

RunContext StartRun(const ModelSource& source, std::ostream& out) {
  if (source.name.empty() == source.checkpoint.empty()) {
    throw UsageError("name a model card, or give --checkpoint PATH (not both)");
  }
  RunContext run;
  run.placement = ModelPlacement{ParseDevice(source.device), ParseDtype(source.dtype)};
  if (run.placement.device->is_meta())
    throw UsageError("running a model needs a real device, not meta");
  GangOptions options;
  options.timeout = GangTimeoutFromEnvironment();
  options.device_type = run.placement.device->type();
  run.placement.gangs = SetupGangsFromEnvironment(options);
  Gang& root = *run.placement.gangs.root;
  if (root.size() > 1) {
    if (run.placement.device->is_cuda()) run.placement.device = root.device();
    CheckSameOnEveryRank(root, "model",
                         source.name.empty() ? "--checkpoint " + source.checkpoint : source.name);
    CheckSameOnEveryRank(root, "family and arch", source.family + " " + source.arch);
    CheckSameOnEveryRank(root, "dtype", source.dtype);
    CheckSameOnEveryRank(root, "device type", c10::DeviceTypeName(options.device_type, true));
  }
  run.out = root.rank() == 0 ? &out : &Discard();
  return run;
}

namespace {

// Loads the model `source` names, reporting what was loaded on run's output.
std::shared_ptr<DecoderModel> Load(const ModelSource& source, const RunContext& run) {
  const ModelPlacement& placement = run.placement;
  std::ostream& out = *run.out;
  LoadOptions options;
  options.mmap = source.mmap;
  LoadStats stats;
  std::shared_ptr<DecoderModel> model;
  if (!source.name.empty()) {
    model = LoadModelFromCard(DefaultAssetStore().card(source.name), placement, options, nullptr,
                              "", &stats);
  } else {
    ModelCardConfig config = ResolveCheckpointConfig(source.checkpoint, source.family, source.arch);
    options.label = source.checkpoint;
    options.config_origin = config.origin;
    model = LoadCheckpoint(*config.family, *config.config, source.checkpoint, placement, options,
                           &stats);
  }
  char line[160];
  std::snprintf(
      line, sizeof(line), "loaded: %lld parameters, %.1f MB in %.1f ms (%.2f GB/s, %s names)\n",
      static_cast<long long>(model->num_parameters()), stats.bytes / 1e6, stats.seconds * 1e3,
      stats.seconds > 0 ? stats.bytes / stats.seconds / 1e9 : 0.0, stats.format.c_str());
  out << line;
  Gang& tp = *model->tp_gang();
  if (tp.size() > 1) {
    const at::Tensor read = tp.AllGather(
        at::full({1}, static_cast<int64_t>(stats.bytes), at::TensorOptions().dtype(at::kLong)), 0);
    out << "tensor-parallel over " << tp.size() << " ranks; checkpoint bytes read per rank (of "
        << Megabytes(stats.checkpoint_bytes) << "):";
    for (int r = 0; r < tp.size(); ++r) {
      out << " " << r << ": " << Megabytes(static_cast<uint64_t>(read[r].item<int64_t>()));
    }
    out << "\n";
  }
  return model;
}

}  // namespace

std::vector<int64_t> ParseTokens(const std::string& text) {
  std::vector<int64_t> tokens;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int64_t id = 0;
    if (!absl::SimpleAtoi(part, &id)) {
      throw UsageError("--tokens must be integers separated by commas, like 1,2,3; got '" + text +
                       "'");
    }
    tokens.push_back(id);
  }
  return tokens;
}

std::string FormatTokens(const std::vector<int64_t>& tokens) { return absl::StrJoin(tokens, ","); }

void CheckOutputFile(const std::string& path, const std::string& what) {
  const auto refuse = [&](const std::string& why) {
    throw Error(absl::StrCat("cannot write ", what, " to ", path, ": ", why));
  };
  struct stat info {};
  if (::stat(path.c_str(), &info) == 0) {
    if (S_ISDIR(info.st_mode)) refuse("it is a folder");
    if (!S_ISREG(info.st_mode)) refuse("it exists and is not a regular file");
  } else if (errno != ENOENT) {
    refuse(std::strerror(errno));  // ENOTDIR, ENAMETOOLONG, EACCES, ELOOP
  }
  std::string folder = std::filesystem::path(path).parent_path().string();
  if (folder.empty()) folder = ".";
  if (::stat(folder.c_str(), &info) != 0) {
    refuse(absl::StrCat("the folder ", folder, " does not exist"));
  }
  if (!S_ISDIR(info.st_mode)) refuse(absl::StrCat(folder, " is not a folder"));
  // The file is written as a temporary sibling, renamed into place.
  if (::access(folder.c_str(), W_OK) != 0) {
    refuse(absl::StrCat("the folder ", folder, " is not writable: ", std::strerror(errno)));
  }
}

ModelSource LocalizeSource(const ModelSource& source) {
  if (!IsRemoteUri(source.name)) return source;
  ModelSource local = source;
  FetchOptions fetch;
  fetch.progress = true;
  local.checkpoint = FetchCheckpoint(source.name, std::nullopt, {}, fetch).path;
  local.name.clear();
  return local;
}

namespace {

std::shared_ptr<Tokenizer> SourceTokenizer(const ModelSource& source) {
  return OpenSourceTokenizer(TokenizerSource{source.name, source.checkpoint, source.tokenizer});
}

// The ids of the input: parsed, or the prompt encoded with its special tokens.
std::vector<int64_t> InputIds(const ModelInput& input, const Tokenizer* tokenizer) {
  if (!input.prompt) return ParseTokens(input.tokens);
  std::vector<int64_t> ids = tokenizer->Encode(*input.prompt, SpecialTokens::kAdd);
  if (ids.empty()) throw UsageError("the prompt has no tokens: give some text");
  return ids;
}

// The max_seq_len of the model `source` names, read from its card or
// config.json without loading weights.
int64_t MaxSeqLen(const ModelSource& source) {
  const ModelCardConfig config =
      source.name.empty() ? ResolveCheckpointConfig(source.checkpoint, source.family, source.arch)
                          : ResolveModelCard(DefaultAssetStore().card(source.name));
  return config.config->ToBlueprint().max_seq_len;
}

}  // namespace

void CheckModelCommand(const ModelSource& source, const ModelInput& input,
                       const GenerateRequest* request) {
  if (source.name.empty() == source.checkpoint.empty()) {
    throw UsageError("name a model card (or hg://org/name), or give --checkpoint PATH (not both)");
  }
  if (ParseDevice(source.device).is_meta()) {
    throw UsageError("running a model needs a real device (cpu, cuda), not meta");
  }
  ParseDtype(source.dtype);
  if (input.prompt.has_value() == !input.tokens.empty()) {
    throw UsageError(
        "give the input as --tokens 1,2,3 or as --prompt TEXT (or text on stdin), once");
  }
  if (!input.prompt) ParseTokens(input.tokens);
  if (request == nullptr) return;
  if (request->max_new_tokens < 0) {
    throw UsageError(
        absl::StrCat("--max-new-tokens must be 0 or more, not ", request->max_new_tokens));
  }
  try {
    CheckSamplingOptions(request->sampling);
  } catch (const InvalidModelInputError& e) {
    throw UsageError(e.what());
  }
}

void RunForward(const ModelSource& given, const ModelInput& input, const std::string& out_file,
                std::ostream& out) {
  CheckModelCommand(given, input, nullptr);
  std::shared_ptr<Tokenizer> tokenizer;
  if (input.prompt) tokenizer = SourceTokenizer(given);
  const std::vector<int64_t> ids = InputIds(input, tokenizer.get());
  const ModelSource source = LocalizeSource(given);
  const RunContext run = StartRun(source, out);
  const bool writes = run.placement.gangs.root->rank() == 0 && !out_file.empty();
  if (writes) CheckOutputFile(out_file, "the logits");
  std::shared_ptr<DecoderModel> model = Load(source, run);
  c10::InferenceMode inference;
  at::Tensor batch = at::tensor(ids, at::TensorOptions().dtype(at::kLong)).unsqueeze(0);
  at::Tensor logits = model->forward(batch.to(model->options().device))[0].to(at::kFloat).cpu();
  at::Tensor last = logits[logits.size(0) - 1];
  at::Tensor probs = last.softmax(-1);
  auto [top, order] = probs.topk(std::min<int64_t>(5, probs.size(0)));
  std::ostream& shown = *run.out;
  shown << "next token after " << ids.size() << " tokens (id, probability, logit"
        << (tokenizer ? ", text" : "") << "):\n";
  for (int64_t i = 0; i < top.size(0); ++i) {
    const int64_t id = order[i].item<int64_t>();
    char line[96];
    std::snprintf(line, sizeof(line), "%lld %.6f %.4f", static_cast<long long>(id),
                  top[i].item<double>(), last[id].item<double>());
    shown << line;
    if (tokenizer) {
      const bool known = id < tokenizer->vocab_size() && tokenizer->IdToToken(id).has_value();
      shown << " "
            << (known ? nlohmann::json(tokenizer->Decode({id}, SpecialTokenText::kKeep)).dump()
                      : "-");
    }
    shown << "\n";
  }
  if (writes) {
    try {
      WriteSafetensors(out_file, {{"logits", logits.contiguous()}});
    } catch (const Error&) {
      throw;
    } catch (const std::exception& e) {  // std::system_error: the disk is full, ...
      throw Error(absl::StrCat("cannot write the logits to ", out_file, ": ", e.what()));
    }
    shown << "wrote logits [" << logits.size(0) << ", " << logits.size(1) << "] to " << out_file
          << "\n";
  }
}

void RunGenerate(const ModelSource& given, const ModelInput& input, const GenerateRequest& request,
                 std::ostream& out, std::ostream& log) {
  CheckModelCommand(given, input, &request);
  std::shared_ptr<Tokenizer> tokenizer;
  if (input.prompt) tokenizer = SourceTokenizer(given);
  const std::vector<int64_t> ids = InputIds(input, tokenizer.get());
  const ModelSource source = LocalizeSource(given);
  const int64_t max_seq_len = MaxSeqLen(source);
  if (static_cast<int64_t>(ids.size()) + request.max_new_tokens > max_seq_len) {
    throw UsageError(absl::StrCat("a prompt of ", ids.size(), " tokens plus ",
                                  request.max_new_tokens,
                                  " new tokens is longer than the model's max_seq_len ",
                                  max_seq_len, "; ask for fewer with --max-new-tokens"));
  }
  // With a prompt, the output is the text alone; what was loaded goes to the log.
  const RunContext run = StartRun(source, input.prompt ? log : out);
  std::shared_ptr<DecoderModel> model = Load(source, run);
  std::ostream& shown = *run.out;
  const bool printing = run.placement.gangs.root->rank() == 0;
  std::vector<int64_t> stop = request.stop_tokens;
  if (tokenizer) {
    for (const int64_t id : tokenizer->special_ids().stop) stop.push_back(id);
  }
  std::optional<StreamingDecoder> stream;
  if (tokenizer) stream.emplace(*tokenizer, SpecialTokenText::kSkip);
  const auto start = std::chrono::steady_clock::now();
  std::vector<int64_t> generated =
      Generate(*model, ids, request.max_new_tokens, request.sampling, stop, [&](int64_t id) {
        if (!tokenizer || !printing) return;
        if (std::find(stop.begin(), stop.end(), id) != stop.end()) return;
        out << stream->Step(id) << std::flush;
      });
  if (tokenizer && printing) out << stream->Finish() << "\n" << std::flush;
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const bool stopped =
      !generated.empty() && std::find(stop.begin(), stop.end(), generated.back()) != stop.end();
  char line[160];
  std::snprintf(line, sizeof(line), "generated %zu tokens in %.1f ms (%s%s)\n", generated.size(),
                seconds * 1e3, request.sampling.temperature == 0 ? "greedy" : "sampled",
                stopped ? ", stopped at a stop token" : "");
  shown << line;
  if (!tokenizer) shown << FormatTokens(generated) << "\n";
}

}  // namespace modelhub::cli
