// Pins what codegen emits and how it fails.
//
// Goldens: golden/<file>.golden is the exact output for tests/families/toy/toy.yaml.
// testdata/errors/<case>.yaml must fail with exactly testdata/errors/<case>.err.
// After an intended change, regenerate the goldens with
//   UPDATE_GOLDENS=1 bazel run //tests/codegen:golden_test
// and review the diff.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "codegen/cpp_emitter.h"
#include "codegen/spec_error.h"
#include "codegen/spec_parser.h"

namespace modelhub::codegen {
namespace {

namespace fs = std::filesystem;

std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// With UPDATE_GOLDENS under `bazel run`, writes `content` into the source tree.
bool MaybeUpdate(const std::string& relative, const std::string& content) {
  const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  if (std::getenv("UPDATE_GOLDENS") == nullptr || workspace == nullptr) return false;
  std::ofstream(fs::path(workspace) / relative, std::ios::binary) << content;
  return true;
}

TEST(GoldenTest, ToySpecCompilesToThePinnedCpp) {
  const std::string spec_path = "tests/families/toy/toy.yaml";
  FamilySpec spec = ParseSpec(Read(spec_path), spec_path);
  std::vector<GeneratedFile> files = EmitFamily(spec, "tests/families/toy");
  ASSERT_EQ(files.size(), 4u);
  for (const GeneratedFile& file : files) {
    const std::string golden = "tests/codegen/golden/" + file.name + ".golden";
    if (MaybeUpdate(golden, file.content)) continue;
    EXPECT_EQ(file.content, Read(golden)) << file.name << " differs from " << golden;
  }
}

TEST(GoldenTest, EverySpecErrorHasItsExactMessage) {
  int cases = 0;
  for (const auto& entry : fs::directory_iterator("tests/codegen/testdata/errors")) {
    if (entry.path().extension() != ".yaml") continue;
    ++cases;
    const std::string spec_path = entry.path().string();
    fs::path expected_path = entry.path();
    expected_path.replace_extension(".err");
    std::string actual = "(no error)";
    try {
      ParseSpec(Read(entry.path()), spec_path);
    } catch (const SpecError& e) {
      actual = e.what();
    }
    if (MaybeUpdate(expected_path.string(), actual + "\n")) continue;
    std::string expected = Read(expected_path);
    if (!expected.empty() && expected.back() == '\n') expected.pop_back();
    EXPECT_EQ(actual, expected) << "for " << spec_path;
  }
  EXPECT_GE(cases, 20);
}

TEST(GoldenTest, TheValidMiniSpecParses) {
  const std::string path = "tests/codegen/testdata/valid_mini.yaml";
  FamilySpec spec = ParseSpec(Read(path), path);
  EXPECT_EQ(spec.family, "mini");
  ASSERT_EQ(spec.archs.size(), 2u);
  EXPECT_EQ(spec.archs[1].base, "mini_a");
  ASSERT_EQ(spec.archs[1].settings.size(), 1u);
  EXPECT_EQ(spec.archs[1].settings[0].value.int_value, 16);
  EXPECT_TRUE(spec.decoder.values.at("model_dim").is_reference);
  EXPECT_FALSE(spec.decoder.values.at("num_layers").is_reference);
  EXPECT_EQ(spec.decoder.rope_layout, "rotate_half");
  EXPECT_EQ(spec.decoder.rope_scaling_kind, "none");
}

}  // namespace
}  // namespace modelhub::codegen
