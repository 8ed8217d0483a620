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
#include <optional>
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

// Spec imports as the tests see them: any file there is.
std::optional<std::string> ReadAny(const std::string& path) {
  if (!fs::is_regular_file(path)) return std::nullopt;
  return Read(path);
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
      ParseSpec(Read(entry.path()), spec_path, ReadAny);
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

// Imported key maps come first, nested imports before the file importing them,
// and a format in several files takes the rules of each, with their own positions.
TEST(GoldenTest, ImportedKeyMapsJoinTheSpecsOwn) {
  const std::string path = "tests/codegen/testdata/valid_import.yaml";
  FamilySpec spec = ParseSpec(Read(path), path, ReadAny);
  ASSERT_EQ(spec.checkpoint_formats.size(), 2u);
  const KeyFormatSpec& hf = spec.checkpoint_formats[0];
  EXPECT_EQ(hf.name, "hf");
  ASSERT_EQ(hf.rules.size(), 5u);
  EXPECT_EQ(hf.rules[0].from, "model.layers.{i}.{block}.{proj}.weight");
  EXPECT_EQ(hf.rules[0].mark.ToString(), "tests/codegen/testdata/imports/keys.yaml:6:7");
  EXPECT_EQ(hf.rules[4].from, "lm_head.weight");
  EXPECT_EQ(hf.rules[4].mark.file, path);
  EXPECT_EQ(spec.checkpoint_formats[1].name, "meta");
  ASSERT_EQ(spec.checkpoint_formats[1].rules.size(), 5u);
  // Without a way to read files, an import is an error, not a silent omission.
  try {
    ParseSpec(Read(path), path);
    ADD_FAILURE() << "an import read without a reader";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("is not a spec file given to the spec compiler"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace modelhub::codegen
