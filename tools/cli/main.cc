// The modelhub command line. Every command is a thin layer over the public API.
// Exit codes: 0 success, 1 failure while doing the work, 2 bad command line.

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

#include "runtime/core/errors.h"
#include "runtime/distributed/local_launcher.h"
#include "runtime/hub/model_loader.h"
#include "tools/cli/arch_commands.h"
#include "tools/cli/card_commands.h"
#include "tools/cli/demo_command.h"
#include "tools/cli/download_commands.h"
#include "tools/cli/export_command.h"
#include "tools/cli/hub_commands.h"
#include "tools/cli/run_commands.h"
#include "tools/cli/text_commands.h"
#include "tools/cli/tokenizer_source.h"
#include "tools/cli/usage_error.h"

namespace {

constexpr char kVersion[] = "modelhub 0.16 (tokenizers; LibTorch CPU and CUDA, c10d Gloo/NCCL)";

// Options that say how a card repository is opened (torch.hub.load's).
void AddRepoOptions(CLI::App* command, modelhub::cli::RepoArgs& args) {
  command
      ->add_option("--source", args.source,
                   "github: REPO is owner/repo[:ref], fetched into torch.hub's folder; local: "
                   "REPO is a folder.")
      ->capture_default_str();
  command->add_flag("--trust", args.trust,
                    "Trust the repository's cards (added to the hub folder's trusted_list) "
                    "without asking.");
  command->add_flag("--force-reload", args.force_reload,
                    "Fetch the repository again even when it is in the hub folder.");
  command->add_flag("--skip-validation", args.skip_validation,
                    "Do not ask GitHub's API whether the ref belongs to the repository.");
}

// Options that pick the model to run and where it runs.
void AddModelOptions(CLI::App* command, modelhub::cli::ModelSource& source,
                     std::vector<std::string>& model_args, modelhub::cli::RepoArgs& repo_args) {
  command->add_option("model", model_args,
                      "A model card name (see 'modelhub list'), or hg://org/name[@revision] or "
                      "an http(s) URL of a checkpoint (fetched into the cache); or a card "
                      "repository (owner/repo[:ref], see 'modelhub hub') and a card name.");
  AddRepoOptions(command, repo_args);
  command->add_option("--checkpoint", source.checkpoint,
                      "A checkpoint instead of a card: a Hugging Face folder (config.json and "
                      "safetensors), or a safetensors/index file with --family and --arch.");
  command->add_option("--family", source.family, "The family of --checkpoint.");
  command->add_option("--arch", source.arch, "The arch of --checkpoint.");
  command->add_option("--device", source.device, "cpu, cuda, cuda:N.")->capture_default_str();
  command->add_option("--dtype", source.dtype, "float32, bfloat16 or float16.")
      ->capture_default_str();
  command->add_flag("--mmap", source.mmap, "Read the checkpoint through mmap instead of pread.");
  command->add_option("--tokenizer", source.tokenizer,
                      "A tokenizer for --prompt (tokenizer.json, tokenizer.model, or a folder) "
                      "instead of the model's own.");
}

// Options that take the model's input: token ids or text.
void AddInputOptions(CLI::App* command, std::string& tokens, std::string& prompt) {
  command->add_option("--tokens", tokens, "Token ids, like 1,2,3.");
  command->add_option("--prompt", prompt,
                      "Text, encoded by the model's tokenizer with its special tokens. Without "
                      "--tokens or --prompt, the text is read from the standard input.");
}

// The input of a model command: --tokens, --prompt, or the standard input
// when it is not a terminal and neither is given.
modelhub::cli::ModelInput ReadInput(const CLI::App* command, const std::string& tokens,
                                    const std::string& prompt) {
  modelhub::cli::ModelInput input;
  input.tokens = tokens;
  if (command->count("--prompt") > 0) {
    input.prompt = prompt;
  } else if (tokens.empty() && !isatty(STDIN_FILENO)) {
    input.prompt = std::string(std::istreambuf_iterator<char>(std::cin), {});
  }
  return input;
}

// Adds the ways to name a tokenizer: a card (or hg:// repo, URL) by position,
// --checkpoint, --tokenizer.
void AddTokenizerOptions(CLI::App* command, modelhub::cli::TokenizerSource& source,
                         std::vector<std::string>& positional, const char* what) {
  command->add_option("args", positional,
                      std::string("A model card name (or hg://org/name, a URL), then ") + what +
                          " (read from the standard input when left out). With --checkpoint "
                          "or --tokenizer, only " +
                          what + ".");
  command->add_option("--checkpoint", source.checkpoint,
                      "The tokenizer of a Hugging Face checkpoint folder.");
  command->add_option("--tokenizer", source.tokenizer,
                      "A tokenizer.json, a tokenizer.model, or a folder holding one.");
}

// Splits the positional arguments of tokenize/detokenize into the source's
// name and the input (empty when it is to be read from stdin).
std::string SplitTokenizerArgs(modelhub::cli::TokenizerSource& source,
                               const std::vector<std::string>& positional, bool jsonl) {
  const bool named = source.checkpoint.empty() && source.tokenizer.empty();
  const size_t most = (named ? 1 : 0) + (jsonl ? 0 : 1);
  if (positional.size() > most) {
    throw modelhub::cli::UsageError("too many arguments (see --help)");
  }
  size_t next = 0;
  if (named) {
    if (positional.empty()) {
      throw modelhub::cli::UsageError(
          "name a model card (or hg://org/name), or give --checkpoint or --tokenizer");
    }
    source.name = positional[next++];
  }
  if (next < positional.size()) return positional[next];
  if (jsonl) return "";
  if (isatty(STDIN_FILENO)) {
    throw modelhub::cli::UsageError("give the input as an argument or on the standard input");
  }
  return std::string(std::istreambuf_iterator<char>(std::cin), {});
}

// Runs this command line, less --nproc, as `nproc` ranks on this machine
// (modelhub's local launcher), and returns the launch's exit status.
int Relaunch(int argc, char** argv, int nproc) {
  if (std::getenv("RANK") != nullptr) {
    std::cerr << "modelhub: error: --nproc starts ranks itself; under torchrun (RANK is set) "
                 "leave it out\n";
    return 2;
  }
  modelhub::LocalLaunch launch;
  launch.nproc = nproc;
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  launch.argv.push_back(error ? std::string(argv[0]) : self.string());
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--nproc") {
      ++i;
      continue;
    }
    if (arg.rfind("--nproc=", 0) == 0) continue;
    launch.argv.push_back(arg);
  }
  try {
    return modelhub::LaunchStatus(modelhub::LaunchLocalRanks(launch));
  } catch (const modelhub::Error& e) {
    std::cerr << "modelhub: error: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"modelhub: large language models for C++ programs, by name."};
  app.name("modelhub");
  app.require_subcommand(1);
  app.set_version_flag("--version", kVersion);
  // Global options (--offline, --asset-dir, --nproc) work after the subcommand too.
  app.fallthrough();
  std::vector<std::string> asset_dirs;
  app.add_option("--asset-dir", asset_dirs,
                 "Also read asset cards from this folder or file (repeatable).");
  int nproc = 0;
  app.add_option("--nproc", nproc,
                 "Run the command as N tensor-parallel ranks on this machine, as torchrun "
                 "--standalone --nproc_per_node N does.")
      ->check(CLI::Range(1, 4096));
  bool offline = false;
  app.add_flag("--offline", offline,
               "No network: remote checkpoints come from the cache only (as HF_HUB_OFFLINE=1).");

  std::string family;
  bool with_params = false;
  CLI::App* archs = app.add_subcommand("archs", "List architecture presets, one per line.");
  archs->add_option("family", family, "Only this family (qwen, llama, mistral, ...).");
  archs->add_flag("--params", with_params,
                  "Also print each preset's exact parameter count (built on the meta device).");

  std::string arch;
  std::string config_family;
  CLI::App* config =
      app.add_subcommand("config", "Print an arch preset's resolved config as YAML.");
  config->add_option("arch", arch, "The architecture, e.g. qwen25_7b.")->required();
  config->add_option("--family", config_family, "The family, where ARCH is ambiguous.");

  std::string list_family;
  CLI::App* list =
      app.add_subcommand("list", "List model cards: name, family, arch, checkpoint (or 'gated').");
  list->add_option("--family", list_family, "Only cards of this family.");

  std::string show_name;
  CLI::App* show = app.add_subcommand(
      "show", "Print a model card (bases resolved), then its resolved config as YAML.");
  show->add_option("name", show_name, "The card name.")->required();

  std::string inspect_path;
  CLI::App* inspect = app.add_subcommand(
      "inspect", "List a checkpoint's tensors (name, dtype, shape, bytes, file) without loading.");
  inspect
      ->add_option("path", inspect_path,
                   "A checkpoint file (safetensors, or torch.save .pt/.pth/.bin), an index, a "
                   "folder, or an http(s) URL (fetched into torch.hub's cache as "
                   "load_state_dict_from_url does).")
      ->required();
  bool inspect_check_hash = false;
  inspect->add_flag("--check-hash", inspect_check_hash,
                    "For a URL: check the SHA-256 against the hash prefix in the file name "
                    "(name-<hex>.pth), as torch.hub's check_hash does.");
  bool inspect_no_restrict = false;
  inspect->add_flag("--no-restrict", inspect_no_restrict,
                    "Also accept known-harmless metadata objects (argparse.Namespace, fairseq2 "
                    "configs) in torch.save files, as a card's `restrict: false` does.");

  modelhub::cli::ModelSource forward_source;
  std::vector<std::string> forward_model;
  modelhub::cli::RepoArgs forward_repo;
  std::string forward_tokens;
  std::string forward_prompt;
  std::string forward_out;
  CLI::App* forward = app.add_subcommand(
      "forward", "Run token ids or text through a model; print the 5 most likely next tokens.");
  AddModelOptions(forward, forward_source, forward_model, forward_repo);
  AddInputOptions(forward, forward_tokens, forward_prompt);
  forward->add_option("--out", forward_out,
                      "Write the logits [tokens, vocab] as float32 tensor 'logits' to this "
                      "safetensors file.");

  modelhub::cli::ModelSource generate_source;
  std::vector<std::string> generate_model;
  modelhub::cli::RepoArgs generate_repo;
  std::string generate_tokens;
  std::string generate_prompt;
  modelhub::cli::GenerateRequest request;
  CLI::App* generate = app.add_subcommand(
      "generate",
      "Continue text (streamed to the standard output) or token ids (the last line is the new "
      "ids) with a model (KV cache).");
  AddModelOptions(generate, generate_source, generate_model, generate_repo);
  AddInputOptions(generate, generate_tokens, generate_prompt);
  generate
      ->add_option("--max-new-tokens", request.max_new_tokens,
                   "The most tokens to add (fewer when a stop token comes).")
      ->capture_default_str();
  generate->add_option("--temperature", request.sampling.temperature, "0 is greedy.")
      ->capture_default_str();
  generate->add_option("--top-p", request.sampling.top_p, "Nucleus sampling mass, in (0, 1].")
      ->capture_default_str();
  generate
      ->add_option("--top-k", request.sampling.top_k, "Sample among the K most likely (0: all).")
      ->capture_default_str();
  generate->add_option("--seed", request.sampling.seed, "Seed of the sampler.")
      ->capture_default_str();
  generate->add_option("--stop-token", request.stop_tokens,
                       "Also stop after this token id (repeatable); with --prompt the "
                       "tokenizer's end of sequence and end of turn stop it too.");

  modelhub::cli::TokenizerSource tokenize_source;
  std::vector<std::string> tokenize_args;
  modelhub::cli::TokenizeOptions tokenize_options;
  CLI::App* tokenize = app.add_subcommand(
      "tokenize", "Print the token ids of a text (as Hugging Face's encode gives them).");
  AddTokenizerOptions(tokenize, tokenize_source, tokenize_args, "the text");
  tokenize->add_flag("--pieces", tokenize_options.pieces,
                     "One line per token: its id and its piece (a JSON string).");
  tokenize->add_flag("--special", tokenize_options.special,
                     "Add the tokenizer's special tokens (BOS), as add_special_tokens=True.");
  tokenize->add_flag("--jsonl", tokenize_options.jsonl,
                     "Each standard input line is a JSON string; each output line the JSON "
                     "array of its ids.");

  modelhub::cli::TokenizerSource detokenize_source;
  std::vector<std::string> detokenize_args;
  bool skip_special = false;
  bool detokenize_jsonl = false;
  CLI::App* detokenize =
      app.add_subcommand("detokenize", "Print the text of token ids, like 1,2,3.");
  AddTokenizerOptions(detokenize, detokenize_source, detokenize_args, "the ids");
  detokenize->add_flag("--skip-special", skip_special, "Leave special tokens out.");
  detokenize->add_flag("--jsonl", detokenize_jsonl,
                       "Each standard input line is a JSON array of ids; each output line the "
                       "JSON string of its text.");

  modelhub::cli::ModelSource export_source;
  std::string export_dir;
  std::string max_shard_size = "5GB";
  std::string export_dtype = "float32";
  CLI::App* export_command = app.add_subcommand(
      "export", "Save a model as a Hugging Face folder (config.json, safetensors shards).");
  export_command->add_option("model", export_source.name,
                             "A model card name (see 'modelhub list'), or hg://org/name, a URL.");
  export_command->add_option("--checkpoint", export_source.checkpoint,
                             "A checkpoint instead of a card (see forward --checkpoint).");
  export_command->add_option("--family", export_source.family, "The family of --checkpoint.");
  export_command->add_option("--arch", export_source.arch, "The arch of --checkpoint.");
  export_command->add_option("dir", export_dir, "The folder to create (absent or empty).")
      ->required();
  export_command
      ->add_option("--max-shard-size", max_shard_size,
                   "The most tensor bytes per file: 5GB, 500MB, 2GiB, 1000000.")
      ->capture_default_str();
  export_command->add_option("--dtype", export_dtype, "float32, bfloat16 or float16.")
      ->capture_default_str();

  std::string download_target;
  bool download_quiet = false;
  CLI::App* download = app.add_subcommand(
      "download", "Fetch a checkpoint into the cache; print the local path last.");
  download
      ->add_option("target", download_target,
                   "A model card name, hg://org/name[@revision], or an http(s) URL.")
      ->required();
  download->add_flag("--quiet", download_quiet,
                     "No progress bars: one line per finished file on stderr.");
  std::string download_to;
  download->add_option("--to", download_to,
                       "Download an http(s) URL to this file (torch.hub's download_url_to_file) "
                       "instead of into the cache.");
  std::string download_hash_prefix;
  download->add_option("--hash-prefix", download_hash_prefix,
                       "With --to: hex digits the file's SHA-256 must start with.");

  CLI::App* cache =
      app.add_subcommand("cache", "The download caches (Hugging Face's, modelhub's).");
  cache->require_subcommand(1);
  CLI::App* cache_ls = cache->add_subcommand("ls", "List cached repos and URLs.");
  std::string cache_rm_target;
  CLI::App* cache_rm = cache->add_subcommand("rm", "Remove a cached repo or URL.");
  cache_rm->add_option("target", cache_rm_target, "hg://org/name, a URL or a card name.")
      ->required();
  std::string cache_verify_target;
  CLI::App* cache_verify =
      cache->add_subcommand("verify", "Re-hash cached files; exit 1 when one does not match.");
  cache_verify->add_option("target", cache_verify_target,
                           "hg://org/name, a URL or a card name (default: everything).");

  CLI::App* hub = app.add_subcommand(
      "hub", "Card repositories on GitHub (torch.hub's list and help, without running code).");
  hub->require_subcommand(1);
  std::string hub_repo;
  std::string hub_name;
  modelhub::cli::RepoArgs hub_args;
  CLI::App* hub_list = hub->add_subcommand("list", "List a card repository's model cards.");
  hub_list->add_option("repo", hub_repo, "owner/repo[:ref] (or a folder with --source local).")
      ->required();
  AddRepoOptions(hub_list, hub_args);
  CLI::App* hub_help =
      hub->add_subcommand("help", "Print a card's doc, the card and its resolved config.");
  hub_help->add_option("repo", hub_repo, "owner/repo[:ref] (or a folder with --source local).")
      ->required();
  hub_help->add_option("name", hub_name, "The card name.")->required();
  AddRepoOptions(hub_help, hub_args);

  std::string device = "cpu";
  std::string dtype = "float32";
  CLI::App* demo = app.add_subcommand(
      "demo", "Load the 'tiny' card by name, run a forward pass and a greedy generation, timed.");
  demo->add_option("--device", device, "cpu, cuda, cuda:N.")->capture_default_str();
  demo->add_option("--dtype", dtype, "float32, bfloat16 or float16.")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "modelhub: error: " << e.what() << " (see --help)\n";
    return 2;
  }

  if (nproc > 0) return Relaunch(argc, argv, nproc);
  try {
    modelhub::AddExtraAssetPaths(asset_dirs);
    if (offline) setenv("HF_HUB_OFFLINE", "1", 1);
    if (archs->parsed()) modelhub::cli::ListArchs(family, with_params, std::cout);
    if (config->parsed()) modelhub::cli::PrintArchConfig(arch, config_family, std::cout);
    if (list->parsed()) modelhub::cli::ListCards(list_family, std::cout);
    if (show->parsed()) modelhub::cli::ShowCard(show_name, std::cout);
    if (inspect->parsed()) {
      std::string path = inspect_path;
      if (modelhub::cli::IsHttpUrl(path)) {
        path = modelhub::cli::FetchInspectedUrl(path, inspect_check_hash);
      } else if (inspect_check_hash) {
        throw modelhub::cli::UsageError("--check-hash applies to an http(s) URL");
      }
      modelhub::cli::InspectCheckpoint(path, !inspect_no_restrict, std::cout);
    }
    if (hub_list->parsed()) modelhub::cli::ListRepoCards(hub_repo, hub_args, std::cout);
    if (hub_help->parsed()) {
      modelhub::cli::HelpRepoCard(hub_repo, hub_name, hub_args, std::cout);
    }
    if (forward->parsed()) {
      forward_source.name = modelhub::cli::ResolveModelArgs(forward_model, forward_repo);
      modelhub::cli::RunForward(forward_source, ReadInput(forward, forward_tokens, forward_prompt),
                                forward_out, std::cout);
    }
    if (generate->parsed()) {
      generate_source.name = modelhub::cli::ResolveModelArgs(generate_model, generate_repo);
      modelhub::cli::RunGenerate(generate_source,
                                 ReadInput(generate, generate_tokens, generate_prompt), request,
                                 std::cout, std::cerr);
    }
    if (tokenize->parsed()) {
      const std::string text =
          SplitTokenizerArgs(tokenize_source, tokenize_args, tokenize_options.jsonl);
      if (tokenize_options.jsonl && tokenize_options.pieces) {
        throw modelhub::cli::UsageError("--pieces and --jsonl do not go together");
      }
      modelhub::cli::RunTokenize(*modelhub::cli::OpenSourceTokenizer(tokenize_source), text,
                                 tokenize_options, std::cin, std::cout);
    }
    if (detokenize->parsed()) {
      const std::string ids =
          SplitTokenizerArgs(detokenize_source, detokenize_args, detokenize_jsonl);
      if (!detokenize_jsonl) modelhub::cli::ParseTokens(ids);
      modelhub::cli::RunDetokenize(*modelhub::cli::OpenSourceTokenizer(detokenize_source), ids,
                                   skip_special, detokenize_jsonl, std::cin, std::cout);
    }
    if (export_command->parsed()) {
      modelhub::cli::RunExport(export_source, export_dir, max_shard_size, export_dtype, std::cout);
    }
    if (demo->parsed()) modelhub::cli::RunDemo(device, dtype, std::cout);
    if (download->parsed()) {
      if (!download_to.empty()) {
        modelhub::cli::RunDownloadTo(download_target, download_to, download_hash_prefix,
                                     download_quiet, std::cout);
      } else if (!download_hash_prefix.empty()) {
        throw modelhub::cli::UsageError("--hash-prefix goes with --to");
      } else {
        modelhub::cli::RunDownload(download_target, download_quiet, std::cout);
      }
    }
    if (cache_ls->parsed()) modelhub::cli::ListCacheEntries(std::cout);
    if (cache_rm->parsed()) modelhub::cli::RemoveCacheEntries(cache_rm_target, std::cout);
    if (cache_verify->parsed() &&
        !modelhub::cli::VerifyCacheEntries(cache_verify_target, std::cout)) {
      return 1;
    }
  } catch (const modelhub::cli::UsageError& e) {
    std::cerr << "modelhub: error: " << e.what() << "\n";
    return 2;
  } catch (const modelhub::Error& e) {
    std::cerr << "modelhub: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    // A bug: every failure of bad input or of the system is a modelhub::Error.
    std::cerr << "modelhub: internal error: " << e.what() << "\n";
    return 1;
  }
  // Output lost to a full disk or a closed pipe is a failure too.
  if (!std::cout.flush()) {
    std::cerr << "modelhub: error: cannot write to the standard output: " << std::strerror(errno)
              << "\n";
    return 1;
  }
  return 0;
}
