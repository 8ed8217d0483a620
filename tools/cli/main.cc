// The modelhub command line. Every command is a thin layer over the public API.
// Exit codes: 0 success, 1 failure while doing the work, 2 bad command line.

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "runtime/core/errors.h"
#include "tools/cli/arch_commands.h"
#include "tools/cli/demo_command.h"
#include "tools/cli/usage_error.h"

namespace {

// Errors that mean the command line named something wrong.
bool IsUsageError(const modelhub::Error& error) {
  return dynamic_cast<const modelhub::cli::UsageError*>(&error) != nullptr ||
         dynamic_cast<const modelhub::ModelFamilyNotKnownError*>(&error) != nullptr ||
         dynamic_cast<const modelhub::ModelArchitectureNotKnownError*>(&error) != nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"modelhub: large language models for C++ programs, by name."};
  app.name("modelhub");
  app.require_subcommand(1);

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

  std::string device = "cpu";
  std::string dtype = "float32";
  CLI::App* demo = app.add_subcommand(
      "demo", "Create a small model, run a forward pass and a greedy generation, with timings.");
  demo->add_option("--device", device, "cpu, cuda, cuda:N.")->capture_default_str();
  demo->add_option("--dtype", dtype, "float32, bfloat16 or float16.")->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "modelhub: error: " << e.what() << " (see --help)\n";
    return 2;
  }

  try {
    if (archs->parsed()) modelhub::cli::ListArchs(family, with_params, std::cout);
    if (config->parsed()) modelhub::cli::PrintArchConfig(arch, config_family, std::cout);
    if (demo->parsed()) modelhub::cli::RunDemo(device, dtype, std::cout);
  } catch (const modelhub::Error& e) {
    std::cerr << "modelhub: error: " << e.what() << "\n";
    return IsUsageError(e) ? 2 : 1;
  } catch (const std::exception& e) {
    std::cerr << "modelhub: internal error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
