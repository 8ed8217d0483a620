#include "runtime/checkpoint/torch_checkpoint.h"

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "runtime/checkpoint/tensor_dtype.h"
#include "runtime/checkpoint/tensor_file.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

using ::testing::HasSubstr;

// Made by make_torch_fixtures.py (the :torch_fixtures genrule).
const std::string kFixtures = "tests/runtime/checkpoint/torch_fixtures/";
// The file the os.system and eval fixtures would create if anything ran them.
const char kMarker[] = "/tmp/modelhub-torch-fixture-os-system-ran";

std::string Fixture(const std::string& name) { return kFixtures + name; }

// One line of a NAME.expected file.
struct Expected {
  std::string name;
  std::string dtype;
  std::string shape;  // "2,3"
  std::string bytes;
};

std::vector<Expected> ReadExpected(const std::string& name) {
  std::ifstream in(Fixture(name));
  EXPECT_TRUE(in.good()) << name;
  std::vector<Expected> expected;
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, '\t');
    EXPECT_EQ(fields.size(), 4u) << line;
    if (fields.size() != 4) continue;
    std::string bytes;
    for (size_t i = 0; i + 1 < fields[3].size(); i += 2) {
      bytes.push_back(static_cast<char>(std::stoi(fields[3].substr(i, 2), nullptr, 16)));
    }
    expected.push_back({fields[0], fields[1], fields[2], bytes});
  }
  return expected;
}

// Checks that `file` holds exactly the tensors of `expected_name`, with the
// same bytes.
void ExpectTensors(const TensorFile& file, const std::string& expected_name) {
  const std::vector<Expected> expected = ReadExpected(expected_name);
  ASSERT_FALSE(expected.empty());
  EXPECT_EQ(file.entries().size(), expected.size());
  for (const Expected& tensor : expected) {
    SCOPED_TRACE(tensor.name);
    const TensorEntry* entry = file.Find(tensor.name);
    ASSERT_NE(entry, nullptr);
    EXPECT_EQ(std::string(TensorDtypeName(entry->dtype)), tensor.dtype);
    EXPECT_EQ(absl::StrJoin(entry->shape, ","), tensor.shape);
    EXPECT_LE(entry->end, file.file_size());
    std::string got(entry->nbytes(), '\0');
    file.ReadInto(*entry, got.data());
    EXPECT_EQ(got, tensor.bytes);
  }
}

std::string ErrorOf(const std::string& name, const TorchLoadOptions& options = {}) {
  try {
    OpenTorchCheckpoint(Fixture(name), ReadStrategy::kPread, options);
  } catch (const CorruptModelCheckpointError& error) {
    EXPECT_EQ(error.path(), Fixture(name));
    return error.what();
  }
  ADD_FAILURE() << name << ": no error";
  return "";
}

TEST(TorchCheckpointTest, ReadsAStateDictWithBothStrategies) {
  for (ReadStrategy strategy : {ReadStrategy::kPread, ReadStrategy::kMmap}) {
    TensorFile file = OpenTorchCheckpoint(Fixture("state_dict.pt"), strategy);
    EXPECT_EQ(file.format(), "torch");
    ExpectTensors(file, "state_dict.expected");
    EXPECT_TRUE(file.metadata().empty());

    // The transposed [3, 2] view keeps its strides; the others need none.
    const TensorEntry* transposed = file.Find("transposed");
    ASSERT_NE(transposed, nullptr);
    EXPECT_EQ(transposed->strides, (std::vector<int64_t>{1, 3}));
    EXPECT_EQ(transposed->end - transposed->begin, 24u);
    EXPECT_TRUE(file.Find("linear.weight")->contiguous());
    // view_b starts 5 floats into the storage view_a starts.
    EXPECT_EQ(file.Find("view_b")->begin - file.Find("view_a")->begin, 20u);
    EXPECT_EQ(file.Find("empty")->numel(), 0);
    EXPECT_TRUE(file.Find("scalar")->shape.empty());
    EXPECT_EQ(file.Find("scalar")->numel(), 1);
  }
}

TEST(TorchCheckpointTest, ReadsLibTorchTensors) {
  TensorFile file = OpenTorchCheckpoint(Fixture("state_dict.pt"), ReadStrategy::kPread);
  at::Tensor transposed = file.Read(*file.Find("transposed"));
  EXPECT_EQ(transposed.sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(transposed[2][1].item<float>(), 5.0f);  // arange(6).reshape(2, 3).t()
}

TEST(TorchCheckpointTest, UnwrapsFairseq2Checkpoints) {
  TensorFile file = OpenTorchCheckpoint(Fixture("wrapper.pt"), ReadStrategy::kPread);
  ExpectTensors(file, "wrapper.expected");
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{
                                 {"wrapper", "model"},
                                 {"model_key", "str 'model'"},
                                 {"step_nr", "int 1000"},
                                 {"config", "dict of 1"},
                             }));
}

TEST(TorchCheckpointTest, FollowsModelKey) {
  TensorFile file = OpenTorchCheckpoint(Fixture("model_key.pt"), ReadStrategy::kPread);
  ExpectTensors(file, "model_key.expected");
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{
                                 {"wrapper", "ema"},
                                 {"model_key", "str 'ema'"},
                                 {"model", "str 'not this'"},
                             }));
}

TEST(TorchCheckpointTest, SkipsConfigObjectsOnlyWithoutRestrict) {
  EXPECT_THAT(ErrorOf("namespace.pt"),
              HasSubstr("global 'argparse.Namespace' is not allowed (modelhub reads weights "
                        "only, like torch.load(weights_only=True)); set `restrict: false`"));
  TorchLoadOptions options;
  options.restrict = false;
  TensorFile file = OpenTorchCheckpoint(Fixture("namespace.pt"), ReadStrategy::kPread, options);
  ExpectTensors(file, "namespace.expected");
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{
                                 {"wrapper", "model"},
                                 {"args", "skipped argparse.Namespace"},
                             }));
}

TEST(TorchCheckpointTest, ReadsTorch2Dtypes) {
  // float8 and uint16 through _rebuild_tensor_v3 and UntypedStorage.
  TensorFile file = OpenTorchCheckpoint(Fixture("v3.pt"), ReadStrategy::kPread);
  ExpectTensors(file, "v3.expected");
}

TEST(TorchCheckpointTest, ReadsTensorsRebuiltFromType) {
  TensorFile file = OpenTorchCheckpoint(Fixture("from_type.pt"), ReadStrategy::kPread);
  ExpectTensors(file, "from_type.expected");
}

TEST(TorchCheckpointTest, RefusesCodeExecution) {
  std::filesystem::remove(kMarker);
  for (bool restrict : {true, false}) {
    TorchLoadOptions options;
    options.restrict = restrict;
    EXPECT_THAT(ErrorOf("os_system.pt", options),
                HasSubstr("data.pkl byte 2: global 'os.system' is not allowed (modelhub reads "
                          "weights only, like torch.load(weights_only=True))"));
    EXPECT_THAT(ErrorOf("eval.pt", options),
                HasSubstr("data.pkl byte 2: global 'builtins.eval' is not allowed"));
    EXPECT_THAT(ErrorOf("bad_opcode.pt", options),
                HasSubstr("data.pkl byte 55: opcode INST (0x69) is not supported"));
  }
  EXPECT_FALSE(std::filesystem::exists(kMarker));
}

TEST(TorchCheckpointTest, RefusesStoragesAndStridesPastTheirRecords) {
  EXPECT_THAT(ErrorOf("storage_too_big.pt"),
              HasSubstr("claimed storage of 4000 bytes (1000 x 4, torch.FloatStorage) exceeds "
                        "its record 'archive/data/0' of 16 bytes"));
  EXPECT_THAT(ErrorOf("strides_past_storage.pt"),
              HasSubstr("the tensor over storage '0' (F32, size [2, 3], stride [3, 2], offset "
                        "0): its strides reach past its storage of 6 elements"));
}

TEST(TorchCheckpointTest, RefusesBrokenZips) {
  EXPECT_THAT(ErrorOf("truncated.pt"),
              HasSubstr("no zip end of central directory record in the last"));
  EXPECT_THAT(ErrorOf("zip_bomb.pt"),
              HasSubstr("zip record 'state_dict/data/0' (central directory header at byte"));
  EXPECT_THAT(ErrorOf("zip_bomb.pt"), HasSubstr("claims 4294967280 bytes of data at byte"));
  EXPECT_THAT(ErrorOf("zip_bomb.pt"), HasSubstr("the record is a zip bomb"));
}

TEST(TorchCheckpointTest, RefusesOtherFormatsAndVersions) {
  EXPECT_THAT(ErrorOf("legacy.pt"),
              HasSubstr("legacy (pre-1.6) torch.save format; re-save it with torch.save from "
                        "PyTorch 1.6 or later (or convert to safetensors)"));
  EXPECT_THAT(ErrorOf("legacy_tar.pt"),
              HasSubstr("legacy (pre-1.6) torch.save format (a tar archive)"));
  // TorchScript compresses its code records.
  EXPECT_THAT(ErrorOf("torchscript.pt"),
              HasSubstr("zip record 'torchscript/code/__torch__/torch/nn/modules/linear.py' "));
  EXPECT_THAT(ErrorOf("torchscript.pt"),
              HasSubstr("is compressed (method 8, deflate); torch.save stores records "
                        "uncompressed"));
  EXPECT_THAT(ErrorOf("big_endian.pt"),
              HasSubstr("saved on a big-endian machine (record 'archive/byteorder' says 'big')"));
  EXPECT_THAT(ErrorOf("future_version.pt"),
              HasSubstr("record 'archive/version' says format version 99, newer than the "
                        "newest torch 2.x writes (10)"));
}

TEST(TorchCheckpointTest, RefusesNonTensorsInTheStateDict) {
  EXPECT_THAT(ErrorOf("not_tensor.pt"),
              HasSubstr("state dict entry 'step' is int 5 (data.pkl byte"));
}

TEST(TorchCheckpointTest, MissingFile) {
  EXPECT_THROW(OpenTorchCheckpoint(Fixture("absent.pt"), ReadStrategy::kPread), AssetNotFoundError);
}

}  // namespace
}  // namespace modelhub
