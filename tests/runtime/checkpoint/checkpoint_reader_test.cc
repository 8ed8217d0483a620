// Opening checkpoint files by their content, not their names: torch.save zips
// and the legacy torch formats go to the torch.save reader, everything else to
// the safetensors reader, whatever the first bytes of its header length are.

#include "runtime/checkpoint/checkpoint_reader.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "runtime/checkpoint/safetensors.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

using ::testing::HasSubstr;

std::string Fixture(const std::string& name) {
  return "tests/runtime/checkpoint/torch_fixtures/" + name;
}

std::string ErrorOf(const std::string& path) {
  try {
    OpenCheckpointFile(path, ReadStrategy::kPread);
  } catch (const CorruptModelCheckpointError& e) {
    return e.what();
  }
  return "";
}

TEST(CheckpointReaderTest, FilesAreReadInTheFormatTheirBytesShow) {
  EXPECT_EQ(OpenCheckpointFile(Fixture("state_dict.pt"), ReadStrategy::kPread).format(), "torch");
  EXPECT_THAT(ErrorOf(Fixture("legacy.pt")), HasSubstr("legacy"));
  EXPECT_THAT(ErrorOf(Fixture("legacy_tar.pt")), HasSubstr("legacy"));

  // A safetensors header whose length's low byte is 0x80, the pickle PROTO
  // opcode a legacy torch file starts with, named like a torch file.
  const std::string path = ::testing::TempDir() + "/header_0x80.pt";
  std::string name;
  unsigned char length = 0;
  while (length != 0x80 && name.size() < 128) {
    name += 'x';
    WriteSafetensors(path, {{name, at::zeros({2}, at::kByte)}});
    std::ifstream(path, std::ios::binary).read(reinterpret_cast<char*>(&length), 1);
  }
  ASSERT_EQ(length, 0x80) << "no name length gave a 128-byte header";
  const TensorFile file = OpenCheckpointFile(path, ReadStrategy::kPread);
  EXPECT_EQ(file.format(), "safetensors");
  EXPECT_NE(file.Find(name), nullptr);
}

}  // namespace
}  // namespace modelhub
