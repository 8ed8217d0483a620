// Opening checkpoint files by their content, not their names: torch.save zips
// and the legacy torch formats go to the torch.save reader, everything else to
// the safetensors reader, whatever the first bytes of its header length are.

#include "runtime/formats/checkpoint_reader.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "runtime/core/errors.h"
#include "runtime/formats/checkpoint_files.h"
#include "runtime/formats/safetensors.h"
#include "runtime/mapping/checkpoint_mapping.h"
#include "tests/testing/error_of.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;
using ::modelhub::testing::ErrorOf;
using ::testing::HasSubstr;

std::string Fixture(const std::string& name) {
  return "tests/runtime/formats/torch_fixtures/" + name;
}

// The message of the CorruptModelCheckpointError opening `path` throws.
std::string OpenError(const std::string& path) {
  return ErrorOf<CorruptModelCheckpointError>(
      [&] { OpenCheckpointFile(path, ReadStrategy::kPread); });
}

// A fresh empty folder under the test's temporary directory.
std::string NewFolder(const std::string& name) {
  const fs::path folder = fs::path(::testing::TempDir()) / name;
  fs::remove_all(folder);
  fs::create_directories(folder);
  return folder.string();
}

TEST(CheckpointReaderTest, FilesAreReadInTheFormatTheirBytesShow) {
  EXPECT_EQ(OpenCheckpointFile(Fixture("state_dict.pt"), ReadStrategy::kPread).format(), "torch");
  EXPECT_THAT(OpenError(Fixture("legacy.pt")), HasSubstr("legacy"));
  EXPECT_THAT(OpenError(Fixture("legacy_tar.pt")), HasSubstr("legacy"));

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

TEST(CheckpointReaderTest, FilesThatCannotBeOpenedNameTheReason) {
  const std::string long_name = NewFolder("open") + "/" + std::string(5000, 'c') + ".pth";
  EXPECT_EQ(OpenError(long_name),
            long_name +
                ": corrupt model checkpoint: cannot open the checkpoint file for reading: File "
                "name too long");
  const std::string loop = NewFolder("loop") + "/consolidated.00.pth";
  fs::create_symlink(loop, loop);
  EXPECT_EQ(OpenError(loop), loop +
                                 ": corrupt model checkpoint: cannot open the checkpoint file for "
                                 "reading: Too many levels of symbolic links");
}

TEST(CheckpointFilesTest, NamesTooLongAreCheckpointErrorsNotFileSystemErrors) {
  const std::string folder = NewFolder("long_names");
  const std::string shard(5000, 's');
  std::ofstream(folder + "/model.safetensors.index.json")
      << R"({"weight_map": {"w": ")" << shard << R"("}})";
  const std::string shard_path = folder + "/" + shard;
  EXPECT_EQ(ErrorOf<CorruptModelCheckpointError>([&] { FindCheckpointFiles(folder); }),
            folder +
                "/model.safetensors.index.json: corrupt model checkpoint: cannot examine "
                "shard '" +
                std::string(60, 's') + "... (5000 characters)' named by the index (stat " +
                shard_path.substr(0, 60) + "... (" + std::to_string(shard_path.size()) +
                " characters)): File name too long");
  // The checkpoint path itself.
  const std::string long_path = folder + "/" + std::string(5000, 'p');
  EXPECT_EQ(ErrorOf<CorruptModelCheckpointError>([&] { FindCheckpointFiles(long_path); }),
            long_path + ": corrupt model checkpoint: cannot examine the checkpoint path (stat " +
                long_path.substr(0, 60) + "... (" + std::to_string(long_path.size()) +
                " characters)): File name too long");
}

TEST(CheckpointFilesTest, UnreadableIndexesAndFoldersAreCheckpointErrors) {
  const std::string folder = NewFolder("unreadable");
  // A folder named like an index.
  fs::create_directory(folder + "/model.safetensors.index.json");
  EXPECT_EQ(ErrorOf<CorruptModelCheckpointError>(
                [&] { ReadCheckpointIndex(folder + "/model.safetensors.index.json"); }),
            folder +
                "/model.safetensors.index.json: corrupt model checkpoint: the index is not a "
                "regular file");
  EXPECT_EQ(ErrorOf<AssetNotFoundError>([&] { ReadCheckpointIndex(folder + "/absent.json"); }),
            "asset '" + folder + "/absent.json' is not found");
  // A shard that is a folder.
  const std::string sharded = NewFolder("shard_folder");
  std::ofstream(sharded + "/model.safetensors.index.json")
      << R"({"weight_map": {"w": "model-00001.safetensors"}})";
  fs::create_directory(sharded + "/model-00001.safetensors");
  EXPECT_EQ(ErrorOf<CorruptModelCheckpointError>([&] { FindCheckpointFiles(sharded); }),
            sharded +
                "/model.safetensors.index.json: corrupt model checkpoint: shard "
                "'model-00001.safetensors' named by the index is not a regular file");
  // Unreadable files and folders: only a user other than root is refused.
  if (::geteuid() != 0) {
    const std::string locked = NewFolder("locked");
    WriteSafetensors(locked + "/model.safetensors", {{"w", at::zeros({2})}});
    fs::permissions(locked, fs::perms::none);
    EXPECT_EQ(ErrorOf<CorruptModelCheckpointError>([&] { FindCheckpointFiles(locked); }),
              locked + ": corrupt model checkpoint: cannot list the folder: Permission denied");
    fs::permissions(locked, fs::perms::owner_all);
  }
}

// Meta rank files (consolidated.NN.pth) made as safetensors files: the reader
// takes each in the format its bytes show.
class RankFilesTest : public ::testing::Test {
 protected:
  // Writes rank files of `ranks` (each a list of named tensors) and maps them
  // onto `parameters`.
  CheckpointMapping Map(const std::vector<std::vector<std::pair<std::string, at::Tensor>>>& ranks,
                        const ParameterShapes& parameters) {
    NewFolder(name_);
    for (size_t rank = 0; rank < ranks.size(); ++rank) {
      WriteSafetensors(Path(rank), ranks[rank]);
    }
    reader_ =
        std::make_unique<CheckpointReader>(FindCheckpointFiles(folder_), ReadStrategy::kPread);
    return MapCheckpoint(*reader_, {}, parameters, "", folder_);
  }
  std::string Path(size_t rank) const {
    return folder_ + "/consolidated.0" + std::to_string(rank) + ".pth";
  }

  const std::string name_ = ::testing::UnitTest::GetInstance()->current_test_info()->name();
  const std::string folder_ = (fs::path(::testing::TempDir()) / name_).string();
  std::unique_ptr<CheckpointReader> reader_;
};

TEST_F(RankFilesTest, ReplicasAndEqualSlicesLoad) {
  const at::Tensor norm = at::arange(16, at::kFloat);
  const CheckpointMapping mapping = Map(
      {{{"norm", norm}, {"wq", at::zeros({8, 16})}}, {{"norm", norm}, {"wq", at::ones({8, 16})}}},
      {{"norm", {16}}, {"wq", {16, 16}}});
  ASSERT_EQ(mapping.tensors.size(), 2u);
  for (const MappedTensor& tensor : mapping.tensors) {
    EXPECT_EQ(tensor.split_dim, tensor.name == "norm" ? -1 : 0) << tensor.name;
  }
}

TEST_F(RankFilesTest, ReplicasOfOtherShapesAreRefused) {
  const ParameterShapes parameters = {{"attention_norm", {16}}};
  const std::string what = ": Meta's rank files hold equal slices or identical copies of a tensor";
  // Rank 1's [17] beside rank 0's [16].
  EXPECT_EQ(ErrorOf<CorruptModelCheckpointError>([&] {
              Map({{{"attention_norm", at::ones({16})}}, {{"attention_norm", at::ones({17})}}},
                  parameters);
            }),
            Path(1) +
                ": corrupt model checkpoint: tensor 'attention_norm' is [17] in this rank 1 "
                "file but [16] in the rank 0 file " +
                Path(0) + what);
  // Either one [0]: concatenated, [0] and [16] would make [16].
  EXPECT_EQ(ErrorOf<CorruptModelCheckpointError>([&] {
              Map({{{"attention_norm", at::ones({0})}}, {{"attention_norm", at::ones({16})}}},
                  parameters);
            }),
            Path(1) +
                ": corrupt model checkpoint: tensor 'attention_norm' is [16] in this rank 1 "
                "file but [0] in the rank 0 file " +
                Path(0) + what);
  EXPECT_EQ(ErrorOf<CorruptModelCheckpointError>([&] {
              Map({{{"attention_norm", at::ones({16})}}, {{"attention_norm", at::ones({0})}}},
                  parameters);
            }),
            Path(1) +
                ": corrupt model checkpoint: tensor 'attention_norm' is [0] in this rank 1 "
                "file but [16] in the rank 0 file " +
                Path(0) + what);
  // Three ranks: the third differs.
  EXPECT_THAT(ErrorOf<CorruptModelCheckpointError>([&] {
                Map({{{"attention_norm", at::ones({16})}},
                     {{"attention_norm", at::ones({16})}},
                     {{"attention_norm", at::ones({15})}}},
                    parameters);
              }),
              HasSubstr("is [15] in this rank 2 file but [16] in the rank 0 file"));
}

TEST_F(RankFilesTest, ReplicasOfOtherValuesAreRefused) {
  at::Tensor other = at::ones({16});
  other[5] = 2.0f;
  EXPECT_EQ(ErrorOf<CorruptModelCheckpointError>([&] {
              Map({{{"attention_norm", at::ones({16})}}, {{"attention_norm", other}}},
                  {{"attention_norm", {16}}});
            }),
            Path(1) +
                ": corrupt model checkpoint: tensor 'attention_norm', replicated in every "
                "rank file, differs in this rank 1 file from the rank 0 file " +
                Path(0) + " (first at element 5 of 16)");
}

TEST_F(RankFilesTest, TensorsOfDtypesLibTorchLacksAreUnsupportedNotCorrupt) {
  // A float8 weight, written as raw bytes.
  const std::string folder = NewFolder("float8");
  const std::string header = R"({"w":{"dtype":"F8_E4M3","shape":[2],"data_offsets":[0,2]}})";
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((header.size() >> (8 * i)) & 0xff));
  std::ofstream(folder + "/model.safetensors", std::ios::binary) << bytes << header << "ab";
  CheckpointReader reader(FindCheckpointFiles(folder), ReadStrategy::kPread);
  EXPECT_EQ(ErrorOf<UnsupportedDtypeError>([&] {
              MapCheckpoint(reader, {}, {{"w", {2}}}, "", folder);
            }),
            folder +
                "/model.safetensors: tensor 'w' has unsupported dtype F8_E4M3 (LibTorch "
                "1.13 has no such type; modelhub can list the tensor but not load it)");
  // Complex: LibTorch holds it, the model's real parameters cannot.
  const std::string complex = NewFolder("complex");
  WriteSafetensors(complex + "/model.safetensors", {{"w", at::zeros({2}, at::kComplexFloat)}});
  CheckpointReader complex_reader(FindCheckpointFiles(complex), ReadStrategy::kPread);
  EXPECT_EQ(ErrorOf<UnsupportedDtypeError>([&] {
              MapCheckpoint(complex_reader, {}, {{"w", {2}}}, "", complex);
            }),
            complex +
                "/model.safetensors: tensor 'w' has unsupported dtype C64 (complex numbers; "
                "the model's parameters are real)");
}

// A fused tensor (Phi-3's qkv_proj) gives each of its parameters a slice
// along its split dimension, sized by their shapes in order; sizes that do
// not add up are a corrupt checkpoint naming every part.
TEST(FusedTensorTest, PartsAreConsecutiveSlicesSizedByTheirParameters) {
  const KeyRule rules[] = {
      {"qkv.weight", "q.weight", RopeProjection::kNone, 0},
      {"qkv.weight", "k.weight", RopeProjection::kNone, 0},
      {"qkv.weight", "v.weight", RopeProjection::kNone, 0},
  };
  const KeyMap map("hf", RopeLayout::kRotateHalf, rules, std::size(rules));
  const std::string folder = NewFolder("fused");
  WriteSafetensors(folder + "/model.safetensors", {{"qkv.weight", at::zeros({8, 3})}});
  CheckpointReader reader(FindCheckpointFiles(folder), ReadStrategy::kPread);
  const CheckpointMapping mapping =
      MapCheckpoint(reader, {&map},
                    {{"q.weight", {4, 3}}, {"k.weight", {2, 3}}, {"v.weight", {2, 3}}}, "", folder);
  ASSERT_EQ(mapping.tensors.size(), 3u);
  const std::vector<std::pair<std::string, int64_t>> expected = {
      {"q.weight", 0}, {"k.weight", 4}, {"v.weight", 6}};
  for (size_t i = 0; i < expected.size(); ++i) {
    const MappedTensor& part = mapping.tensors[i];
    EXPECT_EQ(part.name, expected[i].first);
    EXPECT_EQ(part.slice_dim, 0);
    EXPECT_EQ(part.slice_start, expected[i].second);
    EXPECT_EQ(part.slice_length, i == 0 ? 4 : 2);
  }
  EXPECT_EQ(mapping.bytes, 8u * 3 * 4);  // the fused tensor, counted once
  EXPECT_EQ(ErrorOf<CorruptModelCheckpointError>([&] {
              MapCheckpoint(reader, {&map},
                            {{"q.weight", {4, 3}}, {"k.weight", {4, 3}}, {"v.weight", {2, 3}}}, "",
                            folder);
            }),
            folder +
                ": corrupt model checkpoint: does not fit the model (read as 'hf' names): 1 "
                "tensor(s) of the wrong shape: qkv.weight is [8, 3], which should hold q.weight "
                "[4, 3], k.weight [4, 3], v.weight [2, 3] along dimension 0");
}

}  // namespace
}  // namespace modelhub
