// modelhub_codegen: compiles one family spec into C++ (see cpp_emitter.h).
//
//   modelhub_codegen --spec specs/qwen.yaml --include_prefix families/qwen --out_dir DIR
//                    [--import specs/llama.yaml ...]
//
// Spec errors print as "specs/qwen.yaml:LINE:COL: message" and exit with 1.
// Files are written only when their content changes.

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "codegen/cpp_emitter.h"
#include "codegen/spec_error.h"
#include "codegen/spec_parser.h"

namespace {

bool ReadFile(const std::string& path, std::string* content) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *content = buffer.str();
  return true;
}

bool WriteIfChanged(const std::string& path, const std::string& content) {
  std::string existing;
  if (ReadFile(path, &existing) && existing == content) return true;
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << content;
    if (!out.flush()) return false;
  }
  return std::rename(temporary.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Compiles a modelhub family spec into C++."};
  std::string spec_path;
  std::string include_prefix;
  std::string out_dir;
  std::string family;
  app.add_option("--spec", spec_path, "the family spec (YAML)")->required();
  app.add_option("--include_prefix", include_prefix,
                 "the Bazel package the files belong to, e.g. families/qwen")
      ->required();
  app.add_option("--out_dir", out_dir, "where to write the generated files")->required();
  app.add_option("--family", family, "the family the spec must declare (the Bazel target name)");
  std::vector<std::string> imports;
  app.add_option("--import", imports, "a spec file the spec may import from (repeatable)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  std::string text;
  if (!ReadFile(spec_path, &text)) {
    std::cerr << spec_path << ": cannot read the spec\n";
    return 1;
  }
  try {
    // Only the files Bazel declared as inputs, so that every import is one.
    auto read = [&imports](const std::string& path) -> std::optional<std::string> {
      const std::string wanted = std::filesystem::path(path).lexically_normal().generic_string();
      for (const std::string& file : imports) {
        if (std::filesystem::path(file).lexically_normal().generic_string() != wanted) continue;
        std::string content;
        if (ReadFile(file, &content)) return content;
      }
      return std::nullopt;
    };
    modelhub::codegen::FamilySpec spec = modelhub::codegen::ParseSpec(text, spec_path, read);
    if (!family.empty() && spec.family != family) {
      throw modelhub::codegen::SpecError(
          spec.family_mark, "family '" + spec.family + "' does not match the target name '" +
                                family + "' of modelhub_family()");
    }
    for (const auto& file : modelhub::codegen::EmitFamily(spec, include_prefix)) {
      const std::string path = out_dir + "/" + file.name;
      if (!WriteIfChanged(path, file.content)) {
        std::cerr << path << ": cannot write\n";
        return 1;
      }
    }
  } catch (const modelhub::codegen::SpecError& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
  return 0;
}
